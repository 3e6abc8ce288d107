#!/usr/bin/env python3
"""A systemctl that behaves like the real one where a rollback depends on it.

State: $FAKE_DIR/systemctl.json, per unit its ActiveState, the release its main process
runs (where the unit's `current` symlink pointed when it last started) and the
environment it started with. Units: $FAKE_DIR/systemctl.units.json,
`{"web": {"current": "srv/current", "dropin_dir": "units/web.service.d"}}`, paths
relative to the working directory (rollout runs adapters in the project root). What the
unit *serves* is `serving` with `env`.

Behaviour, from systemd's source (systemd/systemd):
- `restart`/`start` enqueue a job; when the service's process fails to start, the job
  fails, systemctl prints "Job for UNIT failed because the control process exited with
  error code." with the status/journalctl hint and exits 1, and the unit is left
  `failed` (src/systemctl/systemctl-start-unit.c, src/shared/bus-wait-for-jobs.c,
  check_wait_response). Knob file `systemctl.fail`: release directory names (one per
  line) whose process fails to start.
- The process runs whatever the symlink resolves to *when it starts*: switching
  `current` changes nothing until the next start (ExecStart is resolved at exec time,
  src/core/execute.c).
- Drop-ins (`UNIT.d/*.conf`, `Environment=` lines, later files and lines win) are read
  only on `daemon-reload` (src/core/load-dropin.c via manager_reload), and the
  environment is applied to the process at its next start.
- `is-active UNIT` prints the ActiveState and exits 0 only for `active`, 3 otherwise
  (src/systemctl/systemctl-is-active.c, check_unit_generic: EXIT_PROGRAM_NOT_RUNNING).
- `show UNIT --property=LoadState` prints `LoadState=loaded`, or `LoadState=not-found`
  (exit 0) for a unit with no file (src/systemctl/systemctl-show.c).
- `stop` leaves the unit `inactive`, serving nothing.
- A unit with no file: `restart`/`start`/`stop` print "Failed to restart UNIT.service:
  Unit UNIT.service not found." and exit 5 (src/systemctl/systemctl-start-unit.c).
`--user`, `--no-ask-password`, `--quiet` and `-q` are accepted and change nothing here.
"""
import glob
import json
import os
import sys

FAKE = os.environ["FAKE_DIR"]
STATE = os.path.join(FAKE, "systemctl.json")
UNITS = os.path.join(FAKE, "systemctl.units.json")
FAIL = os.path.join(FAKE, "systemctl.fail")


def read_json(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(state):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def unit_name(arg):
    return arg[: -len(".service")] if arg.endswith(".service") else arg


def release_of(config):
    link = config.get("current")
    if not link or not os.path.exists(link):
        return None
    return os.path.basename(os.path.realpath(link))


def dropin_env(config):
    env = {}
    folder = config.get("dropin_dir")
    if not folder:
        return env
    for path in sorted(glob.glob(os.path.join(folder, "*.conf"))):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("Environment="):
                    continue
                value = line[len("Environment="):]
                if value.startswith('"') and value.endswith('"'):
                    value = value[1:-1]
                name, _, val = value.partition("=")
                env[name] = val
    return env


def failing():
    if not os.path.exists(FAIL):
        return set()
    with open(FAIL) as f:
        return {l.strip() for l in f if l.strip()}


def start(unit, config, record, verb):
    release = release_of(config)
    if release is None or release in failing():
        record.update(active="failed", serving=None)
        sys.stderr.write(
            f'Job for {unit}.service failed because the control process exited with error code.\n'
            f'See "systemctl status {unit}.service" and "journalctl -xeu {unit}.service" for details.\n'
        )
        return 1
    record.update(active="active", serving=release, env=dict(record.get("loaded_env", {})))
    return 0


def main(argv):
    args = [a for a in argv if a not in ("--user", "--no-ask-password", "--quiet", "-q")]
    if not args:
        sys.stderr.write("systemctl: this simulator needs a verb\n")
        return 1
    verb, rest = args[0], args[1:]
    units = read_json(UNITS)
    state = read_json(STATE)
    if verb == "daemon-reload":
        for name, config in units.items():
            state.setdefault(name, {"active": "inactive", "serving": None, "env": {}})
            state[name]["loaded_env"] = dropin_env(config)
        save(state)
        return 0
    if not rest:
        sys.stderr.write(f"Too few arguments.\n")
        return 1
    unit = unit_name(rest[0])
    config = units.get(unit)
    if verb == "show":
        print(f"LoadState={'loaded' if config is not None else 'not-found'}")
        return 0
    if config is None:
        if verb == "is-active":
            print("inactive")
            return 3
        sys.stderr.write(f"Failed to {verb} {unit}.service: Unit {unit}.service not found.\n")
        return 5
    record = state.setdefault(unit, {"active": "inactive", "serving": None, "env": {}})
    record.setdefault("loaded_env", dropin_env(config))
    code = 0
    if verb == "is-active":
        print(record["active"])
        code = 0 if record["active"] == "active" else 3
    elif verb == "restart":
        code = start(unit, config, record, verb)
    elif verb == "start":
        if record["active"] != "active":
            code = start(unit, config, record, verb)
    elif verb == "stop":
        record.update(active="inactive", serving=None)
    else:
        sys.stderr.write(f"Unknown command verb '{verb}'.\n")
        return 1
    save(state)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
