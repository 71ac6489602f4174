#!/usr/bin/python3
# Prints what it received, as JSON: its arguments (without argv[0]), its whole
# environment and its working directory. The actions tests read this to prove
# how values reach a command.
import json
import os
import sys

json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}, sys.stdout)
