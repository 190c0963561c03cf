"""validate.py SCHEMA FILE...: check YAML job files against the JSON Schema.

Prints one line per file, "valid FILE" or "invalid FILE: why", and exits 0
when every file is valid, 1 when one is not, 2 when it cannot run (a module
missing, a schema that is not draft 2020-12).  With --check-schema it only
checks SCHEMA against the draft 2020-12 meta-schema.

YAML is read the way editors read it (YAML 1.2 core schema, as
yaml-language-server does): "yes" and "10:00" stay strings, 010 is ten, and
there are no timestamps or merge keys.  PyYAML alone speaks YAML 1.1.
"""
import json
import re
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
except ImportError as e:  # the test says which package is missing
    print("validate.py: %s" % e, file=sys.stderr)
    sys.exit(2)


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types only."""


Yaml12Loader.yaml_implicit_resolvers = {}
for tag, regexp, first in [
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
]:
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:" + tag, re.compile(regexp), list(first) + ([""] if tag == "null" else []))


def construct_int(loader, node):
    s = loader.construct_scalar(node)
    if s.startswith("0o"):
        return int(s[2:], 8)
    if s.startswith("0x"):
        return int(s[2:], 16)
    return int(s, 10)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", construct_int)


class TooBig(Exception):
    pass


def as_json(v, budget):
    """Mapping keys as JSON sees them: strings.  Aliases are copied, so a
    billion-laughs file would grow without end: at most budget[0] nodes."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooBig()
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else json.dumps(k)): as_json(x, budget)
                for k, x in v.items()}
    if isinstance(v, list):
        return [as_json(x, budget) for x in v]
    return v


def main(argv):
    if len(argv) >= 2 and argv[0] == "--check-schema":
        with open(argv[1]) as f:
            Draft202012Validator.check_schema(json.load(f))
        print("schema ok: %s" % argv[1])
        return 0
    if len(argv) < 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        validator = Draft202012Validator(json.load(f))
    bad = 0
    for path in argv[1:]:
        try:
            with open(path) as f:
                doc = as_json(yaml.load(f, Loader=Yaml12Loader), [1000000])
        except (OSError, yaml.YAMLError, RecursionError) as e:
            print("invalid %s: cannot read: %s" % (path, str(e).replace("\n", " ")))
            bad += 1
            continue
        except TooBig:
            print("invalid %s: cannot read: more than 1000000 nodes" % path)
            bad += 1
            continue
        err = best_match(validator.iter_errors(doc))
        if err is None:
            print("valid %s" % path)
        else:
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            print("invalid %s: at %s: %s" % (path, where, err.message[:300]))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
