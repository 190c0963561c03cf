#!/bin/bash
# race: the first child to end ok wins, the others are canceled at once;
# only the winner's stdout is printed.
. "$(dirname "$0")/lib.sh" "$@"

g race --report "$T/r.json" 'sleep 30; echo 1' 'exit 1' 'echo 3'
expect_rc "race" 0
expect_out "winner's stdout only" '3\n'
expect_node "loser" "$T/r.json" race/1 status canceled
expect_node "loser" "$T/r.json" race/1 reason "race won by race/3"
# race/2 may end before or after race/3 wins: either is right
expect_match "failed or collateral" '^(failed exit=1 reason=null|canceled exit=.* reason=race won by race/3)$' \
	"$(node "$T/r.json" race/2 status) exit=$(node "$T/r.json" race/2 exit_code) reason=$(node "$T/r.json" race/2 reason)"
expect_node "winner" "$T/r.json" race/3 status ok
expect_eq "selected" '["race/3"]' "$(jq -c '[.. | objects | select(.path == "race")][0].selected' "$T/r.json")"
expect_eq "a failed loser is no error of a won race" 0 "$(jq '.errors | length' "$T/r.json")"
expect_eq "report ok" ok "$(json "$T/r.json" .status)"

# --- losers are canceled at once, their stdout not printed; size reported ---
cat >"$T/lose.yaml" <<EOF
groups:
  - name: r
    mode: race
    tasks:
      - {name: slow, run: "echo slow-partial; sleep 30 & echo \$! > $T/slow.pid; wait"}
      - {name: fast, run: "sh $T/until test -s $T/slow.pid; echo fast"}
EOF
g run --report "$T/r2.json" "$T/lose.yaml"
expect_rc "race file" 0
expect_out "loser's partial stdout is not printed" 'fast\n'
expect_time_lt "losers canceled at once, not after their 30 s" "$ELAPSED" 10
expect_gone "loser's processes gone" "$T/slow.pid"
expect_node "loser" "$T/r2.json" r/slow status canceled
expect_node "loser" "$T/r2.json" r/slow reason "race won by r/fast"
expect_node "loser's size still reported" "$T/r2.json" r/slow stdout_bytes 13

# --- everything fails: the group fails with the last error to arrive only ---
g race --events "$T/ev" --report "$T/r3.json" "sh $T/after race/3; exit 3" 'exit 1' "sh $T/after race/2; exit 2"
expect_rc "race all failed" 1
expect_eq "only the last error" '[{"path":"race/1","message":"exit status 3"}]' "$(jq -c .errors "$T/r3.json")"
expect_eq "stderr" "grpx: 1 error: race/1: exit status 3" "$(grep '^grpx: ' "$T/err")"
expect_node "group" "$T/r3.json" race status failed

# --- stagger: child i starts at i x DUR, unless all started ones failed ---
# (staggers far longer than the bounds: a grpx that waited for them fails)
cat >"$T/stagger.yaml" <<EOF
groups:
  - name: r
    mode: race
    stagger: 10s
    tasks:
      - {name: a, run: "sleep 0.2; echo a"}
      - {name: b, run: "touch $T/b-ran; echo b"}
EOF
g run --report "$T/r4.json" "$T/stagger.yaml"
expect_out "hedge not needed" 'a\n'
check "second child never started" test ! -e "$T/b-ran"
expect_node "unstarted hedge" "$T/r4.json" r/b status skipped
expect_time_lt "won quickly, not after the 10 s stagger" "$ELAPSED" 5

cat >"$T/stagger2.yaml" <<EOF
groups:
  - name: r
    mode: race
    stagger: 30s
    tasks:
      - {name: a, run: "sleep 0.2; exit 1"}
      - {name: b, run: "echo b"}
EOF
g run "$T/stagger2.yaml"
expect_rc "stagger, first failed" 0
expect_out "next child starts at once when all started ones failed" 'b\n'
expect_time_lt "did not wait for the 30 s stagger" "$ELAPSED" 10

finish
