# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_validate_dsns_global_optspecs
    string join \n root-url= url= service-url= env-file= runtime env= strict connect timeout= expect-env= marker-table= json q/quiet v/verbose h/help V/version
end

function __fish_validate_dsns_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_validate_dsns_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_validate_dsns_using_subcommand
    set -l cmd (__fish_validate_dsns_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l root-url -d 'Admin DSN, used only for provisioning: a superuser, or a role with CREATEROLE and CREATEDB' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l url -d 'Runtime DSN of the app role' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l service-url -d 'Runtime DSN of the service role (migrations, workers)' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l env-file -d 'Read variables from a dotenv file (`-` for stdin); flags still win' -r -F
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l env -d 'Deployment environment; production (`production` or `prod`, any case) requires sslmode=require or stronger' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l timeout -d 'Deadline for each connection and its checks (e.g. 500ms, 5s)' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l expect-env -d 'With --connect: the environment the marker table must name (fails closed)' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l marker-table -d 'With --expect-env: the one-row marker table, read as `SELECT env FROM <table>`' -r
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l runtime -d 'Check a runtime container\'s environment: both runtime DSNs required, the admin DSN and legacy database variables must be absent'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l strict -d 'Treat warnings as errors'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l connect -d 'Log in with each DSN and check identities, role attributes and privileges'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -s v -l verbose -d 'Print more detail on stderr'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -s V -l version -d 'Print version'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -f -a "explain" -d 'Print how a DSN parses (libpq\'s keywords and values, password redacted)'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -f -a "rules" -d 'List every rule id with what it checks'
complete -c validate-dsns -n "__fish_validate_dsns_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand explain" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand explain" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand explain" -s v -l verbose -d 'Print more detail on stderr'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand explain" -s h -l help -d 'Print help'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand rules" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand rules" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand rules" -s v -l verbose -d 'Print more detail on stderr'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand rules" -s h -l help -d 'Print help'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand help; and not __fish_seen_subcommand_from explain rules help" -f -a "explain" -d 'Print how a DSN parses (libpq\'s keywords and values, password redacted)'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand help; and not __fish_seen_subcommand_from explain rules help" -f -a "rules" -d 'List every rule id with what it checks'
complete -c validate-dsns -n "__fish_validate_dsns_using_subcommand help; and not __fish_seen_subcommand_from explain rules help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
