# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_prune_images_global_optspecs
    string join \n json q/quiet v/verbose h/help V/version
end

function __fish_prune_images_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_prune_images_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_prune_images_using_subcommand
    set -l cmd (__fish_prune_images_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c prune-images -n "__fish_prune_images_needs_command" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c prune-images -n "__fish_prune_images_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c prune-images -n "__fish_prune_images_needs_command" -s v -l verbose -d 'Print more detail on stderr'
complete -c prune-images -n "__fish_prune_images_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prune-images -n "__fish_prune_images_needs_command" -s V -l version -d 'Print version'
complete -c prune-images -n "__fish_prune_images_needs_command" -f -a "local" -d 'Prune the images of the container engine on this host'
complete -c prune-images -n "__fish_prune_images_needs_command" -f -a "registry" -d 'Prune the manifests of one repository in an OCI registry'
complete -c prune-images -n "__fish_prune_images_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l keep -d 'Keep the N most recently created images of each repository' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l protect -d 'Never remove this image: `repo:tag`, `repo@sha256:…`, an id, or a unique id prefix as the plan table prints it (as the docker CLI takes them); repeatable' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l protect-file -d 'Never remove the images a file names: compose file, Kustomize file, or a list (one reference per line; `-` for stdin); repeatable' -r -F
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l min-age -d 'Keep images younger than this (a deploy in progress)' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l repo -d 'Only repositories matching this pattern (`*` matches anything, `/` included); repeatable' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l target-free -d 'Stop removing as soon as the engine\'s data root has this much free space (20G, 512MiB, 5GB)' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l host -d 'The engine: unix:///path/docker.sock or tcp://HOST:PORT (default /var/run/docker.sock)' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l timeout -d 'Deadline of each engine call, retries included' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l apply -d 'Remove; without it the plan is printed and nothing changes'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l strict-protect -d 'A --protect or --protect-file rule that matches no image is an error (exit 2, nothing removed), not only a warning'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -s v -l verbose -d 'Print more detail on stderr'
complete -c prune-images -n "__fish_prune_images_using_subcommand local" -s h -l help -d 'Print help'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l keep -d 'Keep the N most recently created images of each repository' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l protect -d 'Never remove this image: `repo:tag`, `repo@sha256:…`, an id, or a unique id prefix as the plan table prints it (as the docker CLI takes them); repeatable' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l protect-file -d 'Never remove the images a file names: compose file, Kustomize file, or a list (one reference per line; `-` for stdin); repeatable' -r -F
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l keep-tag -d 'Keep every tag matching this regular expression (e.g. `^prod-`); repeatable' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l timeout -d 'Budget of each registry operation (a resolve, a manifest, a blob), retries included (e.g. 10s, 2m)' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l cacert -d 'Also trust the CAs in this PEM file' -r -F
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -s u -l username -d 'User name for the registry (the password comes from --password-stdin)' -r
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l apply -d 'Remove; without it the plan is printed and nothing changes'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l insecure -d 'Do not verify TLS certificates, and allow plain HTTP, for any registry'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l plain-http -d 'Talk plain HTTP to the registry (loopback registries fall back to it by themselves)'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l password-stdin -d 'Read the password (or access token) from stdin'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -s v -l verbose -d 'Print more detail on stderr'
complete -c prune-images -n "__fish_prune_images_using_subcommand registry" -s h -l help -d 'Print help'
complete -c prune-images -n "__fish_prune_images_using_subcommand help; and not __fish_seen_subcommand_from local registry help" -f -a "local" -d 'Prune the images of the container engine on this host'
complete -c prune-images -n "__fish_prune_images_using_subcommand help; and not __fish_seen_subcommand_from local registry help" -f -a "registry" -d 'Prune the manifests of one repository in an OCI registry'
complete -c prune-images -n "__fish_prune_images_using_subcommand help; and not __fish_seen_subcommand_from local registry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
