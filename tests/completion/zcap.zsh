# zcap.zsh DIR LINE: print the completions zsh offers at the end of LINE,
# one a line, sorted, using the completion functions in DIR.
#
# An interactive zsh runs in a pseudo-terminal (zpty); compadd is wrapped
# to print every match it adds; LINE is typed followed by a TAB.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z 'PROMPT= ; RPROMPT= ; unsetopt zle_bracketed_paste 2>/dev/null'
zpty -w z "fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local h; for h in $__hits; do print -r -- "<CMP>$h"; done >&2
  builtin compadd "$@"
}'
zpty -w z 'exec 2>&1; print "<READY>"'
zpty -r z line '*<READY>*' || exit 3
zpty -w -n z "$2"$'\t'
zpty -w z $'\x07echo "<END>"'
out=
integer deadline=$((SECONDS + 30))
while (( SECONDS < deadline )); do
  if zpty -r -t z chunk 2>/dev/null; then
    out+=$chunk
    [[ $out == *'<END>'* ]] && break
  else
    sleep 0.05
  fi
done
zpty -d z
[[ $out == *'<END>'* ]] || { print -u2 "zcap: no answer from zsh"; exit 4; }
print -r -- ${(F)${(M)${(f)out}:#*<CMP>*}//*<CMP>/} | tr -d '\r' | sort -u
