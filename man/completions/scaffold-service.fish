# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_scaffold_service_global_optspecs
    string join \n repo= scope= port= health-port= image-repo= migrate image-pull-secret= compose= template= n/dry-run json q/quiet v/verbose h/help V/version
end

function __fish_scaffold_service_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_scaffold_service_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_scaffold_service_using_subcommand
    set -l cmd (__fish_scaffold_service_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l repo -d 'The monorepo root (default: the current directory)' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l scope -d 'The npm scope of the package (default: the scope of the root package.json or of packages/*)' -r
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l port -d 'The service\'s main HTTP port (PORT), if it grows one' -r
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l health-port -d 'The port of /livez, /readyz and /version (HEALTH_PORT)' -r
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l image-repo -d 'The image repository the overlays pin: a repository, no tag, digest or scheme (default: ghcr.io/OWNER/REPO from the root package.json repository)' -r
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l image-pull-secret -d 'The Secret (type kubernetes.io/dockerconfigjson) the pods pull their images with, for a private registry' -r
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l compose -d 'The Compose file to wire the service into (default: platform/infra/services/runtime/docker-compose.dev.yml or docker-compose.dev.yml)' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l template -d 'Render this template directory instead of the built-in templates' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l migrate -d 'Also generate a migration Job, run by Argo CD as a PreSync hook before each sync, from the {env}-{sha}-migrate image'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -s n -l dry-run -d 'Print the files that would be created and the edits as unified diffs; write nothing'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -s v -l verbose -d 'Print more detail on stderr'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -s V -l version -d 'Print version'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -a "check" -d 'Report the generated files that differ from what the current template would generate'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -a "templates" -d 'Write the built-in templates to DIR, to start a `--template` directory from'
complete -c scaffold-service -n "__fish_scaffold_service_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -l template -d 'Compare with this template directory (default: the one recorded, else the built-in templates)' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -l repo -d 'The monorepo root (default: the current directory)' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -l diff -d 'Also print a unified diff (file on disk → template) for each differing file'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -s v -l verbose -d 'Print more detail on stderr'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand check" -s h -l help -d 'Print help'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand templates" -l repo -d 'The monorepo root (default: the current directory)' -r -F
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand templates" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand templates" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand templates" -s v -l verbose -d 'Print more detail on stderr'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand templates" -s h -l help -d 'Print help'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand help; and not __fish_seen_subcommand_from check templates help" -f -a "check" -d 'Report the generated files that differ from what the current template would generate'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand help; and not __fish_seen_subcommand_from check templates help" -f -a "templates" -d 'Write the built-in templates to DIR, to start a `--template` directory from'
complete -c scaffold-service -n "__fish_scaffold_service_using_subcommand help; and not __fish_seen_subcommand_from check templates help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
