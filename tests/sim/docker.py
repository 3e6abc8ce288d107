#!/usr/bin/env python3
"""A `docker` with `docker compose` (v2) that behaves like the real ones where a rollout
depends on them: which image and environment each service's container runs, and when a
container is recreated.

State: $FAKE_DIR/docker.json: `services` (the compose file's own images, seeded by the
test: {"web": {"image": "app:v1"}}), `containers` (per service: id, image, env,
started — a counter bumped by every start) and `next_id`. What a service *serves* is
its container's image and env. Compose files in YAML are not read here: the base images
are the seeded ones; rollout's own override (JSON, the last `-f`) is read as compose
would merge it over them (later files win per key, `environment` merged by name).

Behaviour, from docker/compose's source (v2):
- `up -d --no-deps SERVICE` converges that service only (`--no-deps`: "Don't start
  linked services", cmd/compose/up.go); its container is recreated when the service's
  config hash differs from the one the container was created with — a new image or
  environment (pkg/compose/reconcile.go mustRecreate, pkg/compose/hash.go); otherwise
  it is left running as it is.
- `--wait` waits for running|healthy and fails with "container NAME exited (CODE)" when
  it exited (pkg/compose/convergence.go isServiceHealthy). Knob `docker.crash`: images
  (one per line) whose process exits at once with code 1.
- `--scale=SERVICE=N`: N containers (0 removes them).
- `--build` builds the service's image first: a new image ID under the same name, whose
  digest goes into the service's labels (`com.docker.compose.image`, pkg/compose/build.go),
  so the config hash changes and the container is recreated.
- `restart SERVICE` restarts its containers in place, same id (pkg/compose/restart.go).
- `config --quiet` prints nothing and exits 0 (cmd/compose/config.go).
- Containers carry `com.docker.compose.project`, `…service` and `…oneoff=False`
  (pkg/api/labels.go); `docker ps -q --filter label=K=V…` lists the matching ids.
- `docker inspect --format '{{.Config.Image}} {{.Image}}' ID`: the image as written and
  its ID; `docker image inspect --format {{.Id}} NAME`: an image's ID (knob
  `docker.retag`: lines "NAME ID" for a tag that now names another image).
"""
import hashlib
import json
import os
import sys

FAKE = os.environ["FAKE_DIR"]
STATE = os.path.join(FAKE, "docker.json")


def load():
    with open(STATE) as f:
        state = json.load(f)
    # A container keeps the ID its image had when it was created, whatever the tag
    # names later (the engine's Container.Image).
    for containers in state["containers"].values():
        for c in containers:
            c.setdefault("image_id", image_id(c["image"]))
    return state


def save(state):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def image_id(name):
    path = os.path.join(FAKE, "docker.retag")
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return parts[1]
    if name.startswith("sha256:"):
        return name
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def crashing():
    path = os.path.join(FAKE, "docker.crash")
    return {l.strip() for l in open(path)} if os.path.exists(path) else set()


def desired(state, files, service):
    """The service's config: the seeded base, then each -f file rollout wrote (JSON)."""
    config = {"image": state["services"][service]["image"], "env": {}}
    for f in files:
        try:
            with open(f) as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            continue  # a YAML compose file: its image is the seeded base
        own = doc.get("services", {}).get(service, {})
        if "image" in own:
            config["image"] = own["image"]
        config["env"].update(own.get("environment", {}))
    return config


def compose(state, args):
    files, project, rest = [], None, []
    i = 0
    while i < len(args):
        if args[i] == "-f":
            files.append(args[i + 1]); i += 2
        elif args[i] == "-p":
            project = args[i + 1]; i += 2
        else:
            rest.append(args[i]); i += 1
    verb, opts = rest[0], rest[1:]
    if verb == "config":
        return 0
    service = opts[-1]
    if service not in state["services"]:
        sys.stderr.write(f"no such service: {service}\n")
        return 1
    containers = state["containers"].setdefault(service, [])
    if verb == "restart":
        for c in containers:
            c["started"] += 1
        return 0
    if verb != "up":
        sys.stderr.write(f"simulator: compose {verb} is not simulated\n")
        return 1
    config = desired(state, files, service)
    count = len(containers) or 1
    for o in opts:
        if o.startswith("--scale="):
            count = int(o.rsplit("=", 1)[1])
    built = None
    if "--build" in opts:
        state["next_id"] += 1
        built = "sha256:" + hashlib.sha256(f"{config['image']}#{state['next_id']}".encode()).hexdigest()
        state.setdefault("built", {})[config["image"]] = built  # the name now means the build
    keep = [c for c in containers
            if c["image"] == config["image"] and c["env"] == config["env"] and built is None]
    if len(keep) != len(containers):
        keep = []  # the config hash changed: every container is recreated
    while len(keep) < count:
        state["next_id"] += 1
        keep.append({"id": f"c{state['next_id']:012d}", "image": config["image"],
                     "image_id": built or image_id(config["image"]),
                     "env": config["env"], "started": 1, "project": project,
                     "status": "exited" if config["image"] in crashing() else "running"})
    state["containers"][service] = keep[:count]
    if "--wait" in opts:
        for c in state["containers"][service]:
            if c["status"] == "exited":
                save(state)
                sys.stderr.write(f"container {project}-{service}-1 exited (1)\n")
                return 1
    return 0


def main(argv):
    state = load()
    if argv[:1] == ["compose"]:
        code = compose(state, argv[1:])
        save(state)
        return code
    if argv[:1] == ["info"]:
        print("28.2.2")
        return 0
    if argv[:1] == ["ps"]:
        labels = [argv[i + 1] for i, a in enumerate(argv) if a == "--filter"]
        want = dict(l[len("label="):].split("=", 1) for l in labels)
        for service, containers in state["containers"].items():
            for c in containers:
                if want.get("com.docker.compose.service", service) == service and \
                        want.get("com.docker.compose.project", c["project"]) == c["project"]:
                    print(c["id"])
        return 0
    if argv[:2] == ["image", "inspect"]:
        print(state.get("built", {}).get(argv[-1]) or image_id(argv[-1]))
        return 0
    if argv[:1] == ["inspect"]:
        for containers in state["containers"].values():
            for c in containers:
                if c["id"] == argv[-1]:
                    print(f"{c['image']} {c['image_id']}")
                    return 0
        sys.stderr.write(f"Error: No such object: {argv[-1]}\n")
        return 1
    sys.stderr.write(f"simulator: docker {' '.join(argv)} is not simulated\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
