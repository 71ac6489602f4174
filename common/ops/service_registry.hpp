#pragma once

#include <typeindex>
#include <typeinfo>

#include "common/core/clock.hpp"

namespace pb::ops {

// Hands an op handler the service it asks for, by type: ctx.service<KeyService>().
// ops knows no domain and runtime's Services implements it, so a domain's
// handlers name only the services they use and never include runtime.
class ServiceRegistry {
  public:
    virtual ~ServiceRegistry() = default;

    // The service of type T (a domain service, store::Store, ...), built on
    // first use where the registry builds lazily (its errors are the
    // service's own). Error(internal) when this registry has no T: a wiring bug.
    template <class T>
    T& service() {
        return *static_cast<T*>(require(typeid(T)));
    }

    // The clock every handler reads "now" from.
    virtual const Clock& clock() const = 0;

  protected:
    // The service of that type, or nullptr when there is none.
    virtual void* find(std::type_index type) = 0;

  private:
    void* require(std::type_index type);
};

}  // namespace pb::ops
