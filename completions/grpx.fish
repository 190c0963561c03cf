# fish completion for grpx.  Installed as
# share/fish/vendor_completions.d/grpx.fish.  Completes subcommands and
# modes, options and their values, job files (*.yaml, *.yml) after
# run/check/plan, and after `grpx run FILE` the node paths of FILE (from
# `grpx plan --paths FILE`).

set -l __grpx_modes errgroup sized all race take last retry waterfall schedule

# The words before the cursor, options and their values left out: the
# subcommand first, then the positional arguments.
function __grpx_args
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case -j --jobs -o --output --report --timeout --grace --events --junit --trace \
                --color --progress --journal --resume --limit --count --attempts --backoff \
                --retry-on --on-error --stagger --delay --task-timeout --shell --cwd --env -a --arg-file
                set skip 1
            case '-*'
            case '*'
                echo $w
        end
    end
end

# No subcommand yet.
function __grpx_no_command
    test (count (__grpx_args)) -eq 0
end

# The subcommand is one of $argv.
function __grpx_command_is
    set -l args (__grpx_args)
    test (count $args) -ge 1; and contains -- $args[1] $argv
end

# run, check or plan, with no job file yet.
function __grpx_needs_jobfile
    set -l args (__grpx_args)
    test (count $args) -eq 1; and contains -- $args[1] run check plan
end

# run with its job file: the paths of that file.
function __grpx_node_paths
    set -l args (__grpx_args)
    test (count $args) -ge 2; and test $args[1] = run; or return
    set -l grpx (commandline -opc)[1]
    $grpx plan --paths (string replace -r '^~/' "$HOME/" -- $args[2]) 2>/dev/null
end

# Files ending in .yaml or .yml, and directories to look in.
function __grpx_jobfiles
    __fish_complete_path (commandline -ct) | string match -r -- '^[^\t]*(?:/|\.ya?ml)(?:\t.*)?$'
end

function __grpx_has_jobfile_for_run
    set -l args (__grpx_args)
    test (count $args) -ge 2; and test $args[1] = run
end

complete -c grpx -f
complete -c grpx -n __grpx_no_command -a 'run' -d 'Run a job file, or only the named nodes'
complete -c grpx -n __grpx_no_command -a 'check' -d 'Validate a job file'
complete -c grpx -n __grpx_no_command -a 'plan' -d 'Print the tree of a job file'
complete -c grpx -n __grpx_no_command -a 'errgroup' -d 'All at once, the first error cancels the rest'
complete -c grpx -n __grpx_no_command -a 'sized' -d 'At most --limit at once, every error reported'
complete -c grpx -n __grpx_no_command -a 'all' -d 'All at once, output in input order'
complete -c grpx -n __grpx_no_command -a 'race' -d 'The first to succeed wins'
complete -c grpx -n __grpx_no_command -a 'take' -d 'The first --count to succeed'
complete -c grpx -n __grpx_no_command -a 'last' -d 'The last --count to succeed'
complete -c grpx -n __grpx_no_command -a 'retry' -d 'One command, again until it succeeds'
complete -c grpx -n __grpx_no_command -a 'waterfall' -d 'Each stdout is the next stdin'
complete -c grpx -n __grpx_no_command -a 'schedule' -d 'Each command at i x --delay'
complete -c grpx -n __grpx_no_command -l help -d 'Show the usage'
complete -c grpx -n __grpx_no_command -l version -d 'Show the version'

# job files, then node paths
complete -c grpx -n __grpx_needs_jobfile -a '(__grpx_jobfiles)'
complete -c grpx -n __grpx_has_jobfile_for_run -a '(__grpx_node_paths)' -d 'node path'

# options of run and of the modes
set -l c "__grpx_command_is run $__grpx_modes"
complete -c grpx -n $c -s j -l jobs -x -d 'Most tasks running at once in the whole run'
complete -c grpx -n $c -s o -l output -x -a 'prefix grouped raw quiet' -d 'How task output is shown'
complete -c grpx -n $c -l tag -d 'Tag grouped output lines with [path]'
complete -c grpx -n $c -s q -d 'Same as -o quiet'
complete -c grpx -n $c -l report -r -F -d 'Write the JSON report to FILE'
complete -c grpx -n $c -l timeout -x -d 'Bound the whole run (exit 124)'
complete -c grpx -n $c -l grace -x -d 'Wait between SIGTERM and SIGKILL'
complete -c grpx -n $c -s x -l exit-code -d "Exit with the one failed task's own status"
complete -c grpx -n $c -s v -d 'Print the per-task summary'
complete -c grpx -n $c -l events -r -F -d 'Live NDJSON events (- for stderr)'
complete -c grpx -n $c -l junit -r -F -d 'Write a JUnit XML report to FILE'
complete -c grpx -n $c -l trace -r -F -d 'Write a Chrome trace of the run to FILE'
complete -c grpx -n $c -l color -x -a 'auto always never' -d 'Colour output'
complete -c grpx -n $c -l progress -x -a 'auto always never' -d 'Draw the live progress line'
complete -c grpx -n "__grpx_command_is run check plan $__grpx_modes" -l help -d 'Show the usage'

# run only
complete -c grpx -n '__grpx_command_is run' -l journal -r -F -d 'Append one JSON line per ended node to FILE'
complete -c grpx -n '__grpx_command_is run plan' -l resume -r -F -d 'Skip what ended ok in FILE'

# plan only
complete -c grpx -n '__grpx_command_is plan' -l paths -d 'Print only the node paths, one a line'

# the modes only
set -l m "__grpx_command_is $__grpx_modes"
complete -c grpx -n $m -l limit -x -d 'Most children running at once'
complete -c grpx -n $m -l count -x -d 'Successes needed (take, last)'
complete -c grpx -n $m -l attempts -x -d 'Total tries (0: until success)'
complete -c grpx -n $m -l backoff -x -d 'INITIAL[:MAX[:FACTOR]] between attempts'
complete -c grpx -n $m -l retry-on -x -d 'Retry only on these exit statuses (N,N)'
complete -c grpx -n $m -l on-error -x -a 'cancel drain continue' -d 'What a failed child does to the group'
complete -c grpx -n $m -l stagger -x -d 'Start child i at i x DUR (race, take)'
complete -c grpx -n $m -l delay -x -d 'Schedule: command i starts at i x DUR'
complete -c grpx -n $m -l task-timeout -x -d 'Bound each attempt of each task'
complete -c grpx -n $m -l shell -x -a '(__fish_complete_command)' -d 'Run commands with SHELL -c'
complete -c grpx -n $m -l cwd -x -a '(__fish_complete_directories)' -d 'Run the tasks in DIR'
complete -c grpx -n $m -l env -x -a '(set -nx | string replace -r \'$\' =)' -d 'Set K=V in the tasks\' environment'
complete -c grpx -n $m -s 0 -l null -d 'Inputs on stdin are NUL separated'
complete -c grpx -n $m -s a -l arg-file -r -F -d 'Read inputs from FILE, one a line'
# the commands of an ad-hoc group
complete -c grpx -n "$m; and test (count (__grpx_args)) -eq 1" -a '(__fish_complete_command)'
