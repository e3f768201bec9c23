# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tag_image_global_optspecs
    string join \n json q/quiet v/verbose h/help V/version
end

function __fish_tag_image_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tag_image_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tag_image_using_subcommand
    set -l cmd (__fish_tag_image_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tag-image -n "__fish_tag_image_needs_command" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_needs_command" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tag-image -n "__fish_tag_image_needs_command" -s V -l version -d 'Print version'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "name" -d 'Print the tag for an environment and commit (or a content fingerprint)'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "ref" -d 'Print the full reference REPO:TAG for the same flags as `name`'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "check" -d 'Say whether image references are fit to deploy'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "apply" -d 'Add tags to an image already in a registry, without pulling it'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "pin" -d 'Write digest-pinned references into kustomization, compose and env files'
complete -c tag-image -n "__fish_tag_image_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l env -d 'The environment (lowercase kebab-case: prod, staging, eu-west)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l sha -d 'The commit (hex, at least 7 digits; e.g. $GIT_SHA)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l service -d 'The service, for `{env}-{sha}-{service}` (or `{service}-{fingerprint}`)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l fingerprint -d 'A content fingerprint (hex, e.g. from image-digest fingerprint --short 12) for `{service}-{fingerprint}`' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l sha-length -d 'How many digits of the sha go in the tag' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l migrate -d 'The migrator\'s tag, `{env}-{sha}-migrate`'
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_using_subcommand name" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l env -d 'The environment (lowercase kebab-case: prod, staging, eu-west)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l sha -d 'The commit (hex, at least 7 digits; e.g. $GIT_SHA)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l service -d 'The service, for `{env}-{sha}-{service}` (or `{service}-{fingerprint}`)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l fingerprint -d 'A content fingerprint (hex, e.g. from image-digest fingerprint --short 12) for `{service}-{fingerprint}`' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l sha-length -d 'How many digits of the sha go in the tag' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l migrate -d 'The migrator\'s tag, `{env}-{sha}-migrate`'
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_using_subcommand ref" -s h -l help -d 'Print help'
complete -c tag-image -n "__fish_tag_image_using_subcommand check" -l require-digest -d 'Also require every reference to be pinned by digest (@sha256:…)'
complete -c tag-image -n "__fish_tag_image_using_subcommand check" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_using_subcommand check" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_using_subcommand check" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l to -d 'Tag into this repository (same or another registry) instead of SOURCE\'s' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l timeout -d 'Budget of each registry operation (a resolve, a manifest, a blob), retries included (e.g. 10s, 2m)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l cacert -d 'Also trust the CAs in this PEM file' -r -F
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -s u -l username -d 'User name for the registry (the password comes from --password-stdin)' -r
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l force -d 'Move a tag that already points to another digest'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l dry-run -d 'Resolve and print the plan; write nothing'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l insecure -d 'Do not verify TLS certificates, and allow plain HTTP, for any registry'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l plain-http -d 'Talk plain HTTP to the registry (loopback registries fall back to it by themselves)'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l password-stdin -d 'Read the password (or access token) from stdin'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -s f -l file -d 'A kustomization.yaml, compose file or env file to edit (repeatable)' -r -F
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -l check -d 'Write nothing; exit 1 if a file would change (or, without REF, if an entry is not pinned, on the placeholder, unreadable or stale)'
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -s v -l verbose -d 'Print more detail on stderr'
complete -c tag-image -n "__fish_tag_image_using_subcommand pin" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "name" -d 'Print the tag for an environment and commit (or a content fingerprint)'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "ref" -d 'Print the full reference REPO:TAG for the same flags as `name`'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "check" -d 'Say whether image references are fit to deploy'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "apply" -d 'Add tags to an image already in a registry, without pulling it'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "pin" -d 'Write digest-pinned references into kustomization, compose and env files'
complete -c tag-image -n "__fish_tag_image_using_subcommand help; and not __fish_seen_subcommand_from name ref check apply pin help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
