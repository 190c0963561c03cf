#!/bin/bash
# The job file's JSON Schema (schema/grpx.schema.json) against the loader:
# every file `grpx check` accepts in jobs/, tests/data/ and
# tests/schema/valid/ validates; every file of tests/schema/invalid/ is
# refused by both; and for durations and `at` times, the schema's patterns
# accept exactly the strings the loader accepts.  Uses Debian's
# python3-jsonschema (draft 2020-12) and python3-yaml.
E2E_NEEDS=''
. "$(dirname "$0")/../e2e/lib.sh" "$@"

SRC=${GRPX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SCHEMA=$SRC/schema/grpx.schema.json
V=$SRC/tests/schema/validate.py

# The first python3 that has jsonschema (with draft 2020-12) and yaml.
PY=''
for py in ${GRPX_PYTHON:-} python3 /usr/bin/python3; do
	if command -v "$py" >/dev/null &&
		"$py" -c 'import yaml; from jsonschema import Draft202012Validator' 2>/dev/null; then
		PY=$py
		break
	fi
done
if [ -z "$PY" ]; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL - python3 with jsonschema and yaml is required (CI is set: not skipping)" >&2
		exit 2
	fi
	echo "SKIP - no python3 with jsonschema >= 4 and yaml (Debian: python3-jsonschema python3-yaml)"
	exit 77
fi
note "validating with $PY"

check "the schema is valid draft 2020-12" "$PY" "$V" --check-schema "$SCHEMA"

# Sort the job files by what grpx check says.  tests/data also holds files
# made to be refused (bomb.yaml: billion laughs, deep.yaml: 520 nested
# groups): the schema is not asked about those.
GOOD=() AHEAD=()
for f in "$SRC"/jobs/*.yaml "$SRC"/tests/data/*.yaml "$SRC"/tests/schema/valid/*.yaml; do
	name=${f#"$SRC"/}
	if "$GRPX" check "$f" >/dev/null 2>"$T/check.err"; then
		GOOD+=("$f")
	elif grep -q '^# ahead-of-loader' "$f"; then
		# written for keys the loader does not know yet: the schema
		# must accept it now, and the loader too once it knows them
		AHEAD+=("$f")
		if grep -vqE "unknown key '(matrix|template|resources|allocation)'|missing 'tasks'" "$T/check.err"; then
			fail "$name: grpx check refuses it for another reason: $(head -3 "$T/check.err")"
		else
			note "$name: grpx check does not know matrix/template/resources/allocation yet"
		fi
	else
		note "$name: grpx check refuses it: not a schema test"
	fi
done
BAD=("$SRC"/tests/schema/invalid/*.yaml)

# The schema's verdict on those files, in one run of python: lines
# "valid FILE" or "invalid FILE: why" in $T/verdicts.
"$PY" "$V" "$SCHEMA" "${GOOD[@]}" "${AHEAD[@]}" "${BAD[@]}" >"$T/verdicts"

# load_verdicts FILE: VERDICT[path] = the schema's line about it
declare -A VERDICT
load_verdicts()
{
	local v rest line
	while IFS= read -r line; do
		read -r v rest <<<"$line"
		VERDICT[${rest%%: *}]=$line
	done <"$1"
}
load_verdicts "$T/verdicts"

# verdict FILE: the schema's line about FILE
verdict()
{
	printf '%s\n' "${VERDICT[$1]:-no verdict}"
}

# --- every valid job file validates ---

for f in "${GOOD[@]}"; do
	expect_eq "${f#"$SRC"/} (grpx check accepts it) validates" "valid $f" "$(verdict "$f")"
done
for f in "${AHEAD[@]}"; do
	expect_eq "${f#"$SRC"/} (ahead of the loader) validates" "valid $f" "$(verdict "$f")"
done
expect_ge "valid job files checked" "${#GOOD[@]}" 13

# --- every invalid file is refused, by grpx check and by the schema ---

n=0
for f in "${BAD[@]}"; do
	name=${f#"$SRC"/tests/schema/}
	why=$(sed -n '1s/^# //p' "$f")
	n=$((n + 1))
	"$GRPX" check "$f" >/dev/null 2>&1
	expect_eq "$name: grpx check refuses it ($why)" 2 "$?"
	out=$(verdict "$f")
	case $out in
	"invalid $f: cannot read"*) fail "$name: not YAML, so it tests nothing: $out" ;;
	"invalid $f: "*) ok "$name: the schema refuses it: ${out#"invalid $f: "}" ;;
	*) fail "$name: the schema accepts it ($why): $out" ;;
	esac
done
expect_ge "invalid files checked" "$n" 40

# --- durations and times: the schema's patterns are the loader's ---

# cross KIND KEY VALUE...: for each VALUE (a YAML scalar, written as is),
# grpx check and the schema agree on a job file with KEY: VALUE.
cross()
{
	local kind=$1 key=$2 v i=0 files=() values=()
	shift 2
	mkdir -p "$T/$kind"
	for v in "$@"; do
		i=$((i + 1))
		printf 'groups:\n  - name: s\n    mode: schedule\n    tasks:\n      - run: "true"\n        %s: %s\n' \
			"$key" "$v" >"$T/$kind/$i.yaml"
		files+=("$T/$kind/$i.yaml")
		values+=("$v")
	done
	"$PY" "$V" "$SCHEMA" "${files[@]}" >"$T/$kind.out"
	load_verdicts "$T/$kind.out"
	for ((i = 0; i < ${#files[@]}; i++)); do
		local f=${files[i]} want got
		if "$GRPX" check "$f" >/dev/null 2>&1; then want=valid; else want=invalid; fi
		got=${VERDICT[$f]:-none}
		got=${got%% *}
		expect_eq "$kind ${values[i]}: schema agrees with grpx check ($want)" "$want" "$got"
	done
}

# Quoted: the string reaches the pattern as written.  Left out, because no
# pattern can see them: a value above 1000000h, Feb 29 of a common year.
cross duration timeout \
	'"0"' '"5"' '"1.5"' '".5"' '"5."' '"007"' '"250ms"' '"2s"' '"1.5m"' '"1h"' \
	'"1h30m"' '"1h30ms"' '"1m30s"' '"1s500ms"' '"1h1m1s1ms"' '"0.001ms"' '"1000000h"' \
	'""' '" 5"' '"5 "' '"-1"' '"+1"' '"1e3"' '"1.2.3"' '"."' '"h"' '"5x"' '"5d"' \
	'"1m1h"' '"1s1s"' '"1hms"' '"1h1"' '"ms5"' '"5 s"' '"5S"' '"5H"' '"1,5s"' '"0x10"' \
	'"1h.m"' '"s"' '"1.s"' '".s"'
# Plain: YAML numbers and strings as an editor reads them.
cross duration-plain timeout 0 5 1.5 .5 250ms 1h30m -1 5d null true '[1s]' '{s: 1}'
# resources (SPEC 9): mem as the loader reads it, cpus and gpus bounds.
cross resources resources \
	'{mem: 512}' '{mem: "512"}' '{mem: 4G}' '{mem: 4g}' '{mem: "1t"}' '{mem: 500M}' \
	'{mem: 999999999999999}' '{mem: 1000000000000000}' '{mem: 0}' '{mem: "0"}' \
	'{mem: 0M}' '{mem: 4GB}' '{mem: 4X}' '{mem: -1}' '{mem: 1.5G}' '{mem: ""}' \
	'{mem: null}' '{mem: [1]}' '{mem: " 4G"}' '{cpus: 1}' '{cpus: 0}' '{cpus: "2"}' \
	'{cpus: 2147483647}' '{cpus: 2147483648}' '{gpus: 0}' '{gpus: -1}' '{gpu: 1}' '{}' \
	'{cpus: 2, mem: 1G, gpus: 1}' null '[cpus]'
cross at at \
	'"00:00"' '"9:30"' '"09:30"' '"23:59"' '"23:59:59"' '"0:00:00"' \
	'"2026-11-27T10:00:00Z"' '"2026-11-27t10:00z"' '"2026-11-27 10:00+08:00"' \
	'"2026-11-27T10:00:00.5-05:30"' '"2026-11-27T10:00.5Z"' '"2024-02-29T00:00Z"' \
	'"2026-12-31T23:59:59+23:59"' '"2026-01-31T00:00:00.123456789Z"' \
	'"24:00"' '"9:60"' '"9:5"' '"123:00"' '"10:00:60"' '"10:00:00.5"' '"1:2:3"' \
	'"2026-13-01T00:00Z"' '"2026-00-10T00:00Z"' '"2026-04-31T00:00Z"' '"2026-02-30T00:00Z"' \
	'"2026-11-27T10:00:00"' '"2026-11-27T10:00:00+0800"' '"2026-11-27T10:00:00+24:00"' \
	'"2026-11-27X10:00Z"' '"2026-11-27T10:00:00.Z"' '"2026-1-27T10:00Z"' '"2026-11-27T9:00Z"' \
	'""' '"10"' 10:00 '"noon"'

finish
