# Two commands do all the set-up on a fresh Debian/Raspberry Pi OS machine:
#   make demo   run the gate on the microphone, or on the bundled fixture if there is none
#   make test   run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench system-packages clean

demo: $(STAMP)
	$(BIN)/wakegate demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/ring_buffer.py
	$(BIN)/python benchmarks/pipeline.py

# PortAudio is the one system library the runtime needs (the sounddevice wheel does not ship it on Linux).
system-packages:
	@if ldconfig -p 2>/dev/null | grep -q 'libportaudio\.so\.2' && [ -e /usr/share/alsa/alsa.conf ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing libportaudio2 with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2 libasound2-data >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then \
		echo "installing libportaudio2 with sudo apt-get"; \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2 libasound2-data >/dev/null; \
	else \
		echo "note: PortAudio (libportaudio2) is missing and cannot be installed from here;"; \
		echo "      run 'sudo apt-get install libportaudio2' for microphone support. Files still work."; \
	fi

$(STAMP): pyproject.toml | system-packages
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11 or newer is needed ($(PYTHON))"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create a venv; install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
