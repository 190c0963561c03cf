# bash completion for grpx                                 -*- shell-script -*-
#
# Installed as share/bash-completion/completions/grpx (bash-completion loads
# it on first use of grpx), or source it from ~/.bashrc.  It needs nothing
# from bash-completion.  Completes subcommands and modes, options and their
# values, job files (*.yaml, *.yml) after run/check/plan, and after
# `grpx run FILE` the node paths of FILE (from `grpx plan --paths FILE`).

_grpx_modes='errgroup sized all race take last retry waterfall schedule'

# Options that take a value (the next word, or after '=').
_grpx_takes_value()
{
	case $1 in
	-j | --jobs | -o | --output | --report | --timeout | --grace | --events | \
		--junit | --trace | --color | --progress | --journal | --resume | \
		--limit | --count | --attempts | --backoff | --retry-on | --on-error | \
		--stagger | --delay | --task-timeout | --shell | --cwd | --env | -a | --arg-file)
		return 0 ;;
	esac
	return 1
}

# The options of subcommand or mode $1.
_grpx_options()
{
	local common='-j --jobs -o --output --tag -q --report --timeout --grace
		-x --exit-code -v --events --junit --trace --color --progress --help'
	case $1 in
	run) echo "$common --journal --resume" ;;
	check) echo "--help" ;;
	plan) echo "--paths --resume --help" ;;
	*) echo "$common --limit --count --attempts --backoff --retry-on --on-error
		--stagger --delay --task-timeout --shell --cwd --env -0 --null -a --arg-file" ;;
	esac
}

# COMPREPLY from words $1 that start with $2.
_grpx_words()
{
	local IFS=$' \t\n'
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

# COMPREPLY: files ending in .yaml or .yml, and directories (readline
# marks those with a '/', thanks to -o filenames).
_grpx_jobfiles()
{
	local IFS=$'\n' f
	compopt -o filenames 2>/dev/null
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -d -- "$1"))
	for f in $(compgen -f -- "$1"); do
		case $f in *.yaml | *.yml) [ -d "$f" ] || COMPREPLY+=("$f") ;; esac
	done
}

_grpx()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' cmd='' opt='' file='' w i
	local -a pos=()
	local dashdash=0

	# `--output=gr`: bash splits at '=' (COMP_WORDBREAKS); join it back.
	if [ "$COMP_CWORD" -ge 2 ] && [ "${COMP_WORDS[COMP_CWORD - 1]}" = "=" ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [ "$cur" = "=" ] && [ "$COMP_CWORD" -ge 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=''
	elif [ "$COMP_CWORD" -ge 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi

	if [ "$COMP_CWORD" -le 1 ]; then
		case $cur in
		-*) _grpx_words '--help --version' "$cur" ;;
		*) _grpx_words "run check plan $_grpx_modes" "$cur" ;;
		esac
		return 0
	fi
	cmd=${COMP_WORDS[1]}

	# Walk the words before the cursor: skip options and their values,
	# collect the positional words.
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ -n "$opt" ]; then
			opt=''
			[ "$w" = "=" ] && opt=x # --opt = value
			continue
		fi
		if [ "$dashdash" = 0 ]; then
			case $w in
			--) dashdash=1; continue ;;
			--*=*) continue ;;
			-*) _grpx_takes_value "$w" && opt=x; continue ;;
			esac
		fi
		pos+=("$w")
	done

	if _grpx_takes_value "$prev" && [ "$dashdash" = 0 ]; then
		case $prev in
		-o | --output) _grpx_words 'prefix grouped raw quiet' "$cur" ;;
		--color | --progress) _grpx_words 'auto always never' "$cur" ;;
		--on-error) _grpx_words 'cancel drain continue' "$cur" ;;
		--report | --junit | --trace | --events | --journal | --resume | -a | --arg-file)
			compopt -o filenames 2>/dev/null
			local IFS=$'\n'
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -f -- "$cur")) ;;
		--cwd)
			compopt -o filenames 2>/dev/null
			local IFS=$'\n'
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -d -- "$cur")) ;;
		--shell)
			local IFS=$'\n'
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -c -- "$cur")) ;;
		--env)
			compopt -o nospace 2>/dev/null
			local IFS=$'\n'
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -e -S = -- "$cur")) ;;
		*) COMPREPLY=() ;; # a number or a duration
		esac
		return 0
	fi

	if [ "$dashdash" = 0 ] && [[ $cur == -* ]]; then
		_grpx_words "$(_grpx_options "$cmd")" "$cur"
		return 0
	fi

	case $cmd in
	run | check | plan)
		if [ ${#pos[@]} = 0 ]; then
			_grpx_jobfiles "$cur"
		elif [ "$cmd" = run ]; then
			file=${pos[0]}
			case $file in "~/"*) file=$HOME/${file#"~/"} ;; esac
			local IFS=$'\n'
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" plan --paths "$file" 2>/dev/null)" -- "$cur"))
		fi
		;;
	*)
		# ad-hoc commands, and the files of `::::`
		compopt -o filenames 2>/dev/null
		local IFS=$'\n'
		if [ ${#pos[@]} = 0 ]; then
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	esac
	return 0
}

complete -F _grpx grpx
