#!/usr/bin/env bash
# Test setup only (et-suite never needs it to run, and `run --lsl` only needs liblsl): pylsl
# from PyPI, the real LSL client the LSL tests (tests/integration/lsl.rs) talk to, whose wheel
# also ships the liblsl.so et-suite loads in those tests; and iproute2, with which each test
# brings up the loopback interface of its own network namespace. Safe to run again.
set -euo pipefail
version="1.18.6"
if ! command -v ip >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    else
        sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    fi
fi
if python3 -c "import pylsl, sys; sys.exit(pylsl.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
echo "setup: installing pylsl $version (tests only)"
python3 -m pip install -q "pylsl==$version" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "pylsl==$version"
python3 -c "import pylsl; print('setup: pylsl', pylsl.__version__, 'with liblsl', pylsl.library_version())"
