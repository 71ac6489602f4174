#include "daemon/ws/op_pool.hpp"

#include <algorithm>
#include <exception>
#include <pthread.h>

#include "common/core/log.hpp"

namespace pb::daemon::ws {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("daemon.ws");
    return l;
}

void run_logged(const OpPool::Job& job) {
    try {
        job();
    } catch (const std::exception& e) {
        logger()->error("unexpected failure in a WebSocket job: {}", e.what());
    }
}

}  // namespace

OpPool::OpPool(int threads, std::string name)
    : m_threads(std::max(1, threads)), m_name(std::move(name)) {}

OpPool::~OpPool() {
    stop();
}

void OpPool::start() {
    for (int i = 0; i < m_threads; ++i) {
        m_pool.emplace_back([this, i] {
            const auto name = m_name + "-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            loop();
        });
    }
}

void OpPool::post(Job job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) {
            return;
        }
        m_jobs.push_back(std::move(job));
    }
    m_cv.notify_one();
}

void OpPool::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_cv.notify_all();
    for (auto& t : m_pool) {
        t.join();
    }
    m_pool.clear();
}

void OpPool::loop() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
            if (m_jobs.empty()) {
                return;  // stopping, and everything queued has run
            }
            job = std::move(m_jobs.front());
            m_jobs.pop_front();
        }
        run_logged(job);
    }
}

OpPool::Strand::Strand(OpPool& pool) : m_pool(pool), m_state(std::make_shared<State>()) {}

void OpPool::Strand::post(Job job) {
    {
        std::lock_guard lock(m_state->mutex);
        m_state->jobs.push_back(std::move(job));
        if (m_state->scheduled) {
            return;  // the runner takes it after the jobs before it
        }
        m_state->scheduled = true;
    }
    m_pool.post([&pool = m_pool, state = m_state] { run_next(pool, state); });
}

std::size_t OpPool::Strand::waiting() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->jobs.size();
}

void OpPool::Strand::clear() {
    std::lock_guard lock(m_state->mutex);
    m_state->jobs.clear();
}

void OpPool::Strand::run_next(OpPool& pool, const std::shared_ptr<State>& state) {
    Job job;
    {
        std::lock_guard lock(state->mutex);
        if (state->jobs.empty()) {
            state->scheduled = false;  // cleared meanwhile
            return;
        }
        job = std::move(state->jobs.front());
        state->jobs.pop_front();
    }
    run_logged(job);
    {
        std::lock_guard lock(state->mutex);
        if (state->jobs.empty()) {
            state->scheduled = false;
            return;
        }
    }
    // Behind whatever other sockets posted meanwhile, as a fresh job would be.
    pool.post([&pool, state] { run_next(pool, state); });
}

}  // namespace pb::daemon::ws
