"""bindings/lua/t/conftest.py - puts t/ on sys.path so the tests import harness and luarun."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
