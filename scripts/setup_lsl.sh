#!/usr/bin/env bash
# Test setup only (et-suite never needs it to run, and `run --lsl` only needs liblsl): pylsl
# from PyPI, the real LSL client the LSL tests (tests/integration/lsl.rs) talk to, whose wheel
# also ships the liblsl.so et-suite loads in those tests; pyxdf, which the README's recipe
# scripts/align_xdf.py reads LabRecorder's files with (tested there); and iproute2, with which each test
# brings up the loopback interface of its own network namespace. Safe to run again.
set -euo pipefail
version="1.18.6"
xdf_version="1.17.5"
if ! command -v ip >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    elif sudo -n true 2>/dev/null; then
        sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    else
        # Without root no network namespace can be made either: the LSL tests skip, saying so.
        echo "setup: no iproute2 and no root: the LSL tests will skip"
    fi
fi
if python3 -c "import pylsl, pyxdf, h5py, sys; sys.exit(pylsl.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
echo "setup: installing pylsl $version and pyxdf $xdf_version (tests only)"
python3 -m pip install -q "pylsl==$version" "pyxdf==$xdf_version" h5py 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "pylsl==$version" "pyxdf==$xdf_version" h5py
python3 -c "import pylsl; print('setup: pylsl', pylsl.__version__, 'with liblsl', pylsl.library_version())"
