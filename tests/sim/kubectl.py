#!/usr/bin/env python3
"""A kubectl that behaves like the real one where rollback depends on it.

State: $FAKE_DIR/kubectl.json, per workload its revisions (pod templates) and replicas.
What the cluster *serves* is the newest revision's template (image and env).

Behaviour, from the real tool's source (kubernetes/kubectl, kubernetes/kubernetes):
- Every change to a Deployment's pod template is a new revision: `set image`
  (pkg/cmd/set/set_image.go), `set env` (pkg/cmd/set/set_env.go), `rollout restart`
  (pkg/polymorphichelpers/objectrestarter.go: sets the
  `kubectl.kubernetes.io/restartedAt` template annotation), `apply` of a changed
  template. The deployment controller gives a template the next revision number; a
  template equal to an older revision's reuses that ReplicaSet and renumbers it as the
  newest (pkg/controller/deployment/sync.go, getNewReplicaSet / SetNewReplicaSetAnnotations).
- `rollout undo` without `--to-revision` goes to the second-newest revision;
  `--to-revision=N` to revision N; either way that template becomes the newest revision
  (pkg/polymorphichelpers/rollback.go, DeploymentRollbacker: revision 0 = previous).
- `get <workload> -o json` carries the revision in the
  `deployment.kubernetes.io/revision` annotation (pkg/controller/deployment/util).
- `rollout status` can fail *after* the template changed: it only watches
  (pkg/cmd/rollout/rollout_status.go); knob file `kubectl.status.exit`.
- `scale --replicas=N` changes replicas, not the template (no revision).
Knob files: `kubectl.rollout.exit` makes every `rollout …` fail before changing anything.
"""
import json
import os
import sys

FAKE = os.environ["FAKE_DIR"]
STATE = os.path.join(FAKE, "kubectl.json")
SEED_IMAGE = "reg/web:1"


def load():
    if os.path.exists(STATE):
        with open(STATE) as f:
            return json.load(f)
    return {"deployment/web": {"revisions": [{"rev": 1, "image": SEED_IMAGE, "env": {}, "restarted": ""}], "replicas": 3}}


def save(state):
    with open(STATE, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def workload(name):
    return name if "/" in name else "deployment/" + name


def knob(name):
    path = os.path.join(FAKE, "kubectl." + name + ".exit")
    if os.path.exists(path):
        code = int(open(path).read().strip() or "1")
        if code:
            print(f"error: kubectl {name} failed", file=sys.stderr)
            sys.exit(code)


def newest(w):
    return max(w["revisions"], key=lambda r: r["rev"])


def put_template(w, template):
    """A template becomes the newest revision: an equal older one is renumbered."""
    top = newest(w)["rev"]
    same = lambda r: (r["image"], r["env"], r["restarted"]) == (template["image"], template["env"], template["restarted"])
    if same(newest(w)):
        return
    w["revisions"] = [r for r in w["revisions"] if not same(r)]
    template = dict(template, rev=top + 1)
    w["revisions"].append(template)


def get_json(name, w):
    top = newest(w)
    return {
        "kind": "Deployment",
        "metadata": {"name": name.split("/")[-1], "annotations": {"deployment.kubernetes.io/revision": str(top["rev"])}},
        "spec": {
            "replicas": w["replicas"],
            "template": {"spec": {"containers": [{
                "name": "app",
                "image": top["image"],
                "env": [{"name": k, "value": v} for k, v in sorted(top["env"].items())],
            }]}},
        },
    }


def main(argv):
    args = [a for a in argv if True]
    # Strip --context/--namespace and their values.
    clean, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--context", "--namespace", "-n"):
            skip = True
            continue
        clean.append(a)
    args = clean
    state = load()
    if not args:
        return 0
    verb = args[0]
    if verb != "rollout":
        knob(verb)
    if verb == "auth":
        print("yes")
        return 0
    if verb == "get":
        name = workload(args[1])
        if name not in state:
            kind, short = name.split("/")
            print(f'Error from server (NotFound): {kind}s.apps "{short}" not found', file=sys.stderr)
            return 1
        print(json.dumps(get_json(name, state[name]), indent=2))
        return 0
    if verb == "set" and args[1] in ("image", "env"):
        name = workload(args[2])
        w = state.setdefault(name, {"revisions": [{"rev": 1, "image": "", "env": {}, "restarted": ""}], "replicas": 1})
        template = dict(newest(w))
        template["env"] = dict(template["env"])
        for pair in args[3:]:
            if "=" not in pair:
                continue
            k, v = pair.split("=", 1)
            if args[1] == "image":
                template["image"] = v
            else:
                template["env"][k] = v
        put_template(w, template)
        save(state)
        return 0
    if verb == "rollout":
        knob("rollout")
        sub, name = args[1], workload(args[2])
        w = state.get(name)
        if w is None:
            print(f'Error from server (NotFound): "{name}" not found', file=sys.stderr)
            return 1
        if sub == "status":
            knob("status")
            print(f'deployment "{name.split("/")[-1]}" successfully rolled out')
            return 0
        if sub == "restart":
            template = dict(newest(w), restarted=str(newest(w)["rev"]))
            put_template(w, template)
            save(state)
            print(f"{name} restarted")
            return 0
        if sub == "undo":
            to = [a.split("=", 1)[1] for a in args if a.startswith("--to-revision=")]
            revs = sorted(w["revisions"], key=lambda r: r["rev"], reverse=True)
            if to and to[0] != "0":
                target = [r for r in revs if str(r["rev"]) == to[0]]
                if not target:
                    print(f"error: unable to find specified revision {to[0]} in history", file=sys.stderr)
                    return 1
                target = target[0]
            else:
                if len(revs) < 2:
                    print("error: no rollout history found", file=sys.stderr)
                    return 1
                target = revs[1]
            put_template(w, dict(target))
            save(state)
            print(f"{name} rolled back")
            return 0
    if verb == "scale":
        name = workload(args[1])
        for a in args:
            if a.startswith("--replicas="):
                state.setdefault(name, {"revisions": [], "replicas": 0})["replicas"] = int(a.split("=", 1)[1])
        save(state)
        return 0
    if verb == "apply":
        path = args[args.index("-f") + 1] if "-f" in args else ""
        image = ""
        if os.path.isfile(path):
            for line in open(path):
                if line.strip().startswith("image:"):
                    image = line.split(":", 1)[1].strip()
        w = state.setdefault("deployment/web", {"revisions": [{"rev": 1, "image": "", "env": {}, "restarted": ""}], "replicas": 1})
        put_template(w, dict(newest(w), image=image or newest(w)["image"]))
        save(state)
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
