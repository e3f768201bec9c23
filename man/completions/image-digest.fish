# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_image_digest_global_optspecs
    string join \n json q/quiet v/verbose h/help V/version
end

function __fish_image_digest_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_image_digest_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_image_digest_using_subcommand
    set -l cmd (__fish_image_digest_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c image-digest -n "__fish_image_digest_needs_command" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c image-digest -n "__fish_image_digest_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c image-digest -n "__fish_image_digest_needs_command" -s v -l verbose -d 'Print more detail on stderr'
complete -c image-digest -n "__fish_image_digest_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c image-digest -n "__fish_image_digest_needs_command" -s V -l version -d 'Print version'
complete -c image-digest -n "__fish_image_digest_needs_command" -f -a "resolve" -d 'Resolve references in their registry to digests, without pulling'
complete -c image-digest -n "__fish_image_digest_needs_command" -f -a "from-log" -d 'Extract image digests from push output, buildx metadata or docker inspect JSON'
complete -c image-digest -n "__fish_image_digest_needs_command" -f -a "fingerprint" -d 'Content fingerprint of a build context or of several paths together'
complete -c image-digest -n "__fish_image_digest_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l platform -d 'For an index, resolve the manifest of this platform (`os/arch[/variant]`)' -r
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l timeout -d 'Budget of each registry operation (a resolve, a manifest, a blob), retries included (e.g. 10s, 2m)' -r
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l cacert -d 'Also trust the CAs in this PEM file' -r -F
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -s u -l username -d 'User name for the registry (the password comes from --password-stdin)' -r
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l digest-only -d 'Print the bare digest instead of `repo@digest`'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l insecure -d 'Do not verify TLS certificates, and allow plain HTTP, for any registry'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l plain-http -d 'Talk plain HTTP to the registry (loopback registries fall back to it by themselves)'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l password-stdin -d 'Read the password (or access token) from stdin'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -s v -l verbose -d 'Print more detail on stderr'
complete -c image-digest -n "__fish_image_digest_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c image-digest -n "__fish_image_digest_using_subcommand from-log" -l digest-only -d 'Print the bare digests instead of `repo@digest`'
complete -c image-digest -n "__fish_image_digest_using_subcommand from-log" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c image-digest -n "__fish_image_digest_using_subcommand from-log" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c image-digest -n "__fish_image_digest_using_subcommand from-log" -s v -l verbose -d 'Print more detail on stderr'
complete -c image-digest -n "__fish_image_digest_using_subcommand from-log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l root -d 'Names are relative to this directory [default: the deepest directory containing every PATH]. A relative PATH is looked up in the current directory, then under DIR' -r -F
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l short -d 'Print only the first N hex digits (for tags such as `api-3f2a9c01be47`)' -r
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l jobs -d 'Hash with this many threads [default: all cores]' -r
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l list -d 'Print each included file with its hash before the fingerprint (on stdout)'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l no-ignore -d 'Ignore no file: do not read .dockerignore'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -s v -l verbose -d 'Print more detail on stderr'
complete -c image-digest -n "__fish_image_digest_using_subcommand fingerprint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c image-digest -n "__fish_image_digest_using_subcommand help; and not __fish_seen_subcommand_from resolve from-log fingerprint help" -f -a "resolve" -d 'Resolve references in their registry to digests, without pulling'
complete -c image-digest -n "__fish_image_digest_using_subcommand help; and not __fish_seen_subcommand_from resolve from-log fingerprint help" -f -a "from-log" -d 'Extract image digests from push output, buildx metadata or docker inspect JSON'
complete -c image-digest -n "__fish_image_digest_using_subcommand help; and not __fish_seen_subcommand_from resolve from-log fingerprint help" -f -a "fingerprint" -d 'Content fingerprint of a build context or of several paths together'
complete -c image-digest -n "__fish_image_digest_using_subcommand help; and not __fish_seen_subcommand_from resolve from-log fingerprint help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
