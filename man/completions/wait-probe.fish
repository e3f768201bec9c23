complete -c wait-probe -l budget -d 'Stage option: the budget of the targets that follow (default 30s, or what is left of --timeout)' -r
complete -c wait-probe -s t -l timeout -d 'The deadline of the whole wait, every stage included (as `timeout` and wait-for-it\'s -t): a stage no --budget precedes gets what is left of it, one with a --budget the shorter of the two' -r
complete -c wait-probe -l status -d 'Stage option: accepted HTTP statuses for the targets that follow, a list of codes and ranges (default 200-299)' -r
complete -c wait-probe -l success-threshold -d 'Stage option: consecutive ready answers needed, --max-interval apart (default 1)' -r
complete -c wait-probe -l expect-json -d 'Stage option (repeatable, adds up): the JSON body must hold VALUE at the dotted PATH (e.g. `sha=abc123`, `checks.db=ok`, `items.0.id=7`)' -r
complete -c wait-probe -l header -d 'Stage option (repeatable, adds up): an HTTP request header, `Name: value`' -r
complete -c wait-probe -l attempt-timeout -d 'Deadline of each attempt: name lookup, connect, TLS, status and body' -r
complete -c wait-probe -l max-interval -d 'The cap of the backoff between attempts once a target answers' -r
complete -c wait-probe -l cacert -d 'Trust this CA (PEM) for https targets, in addition to the built-in roots' -r -F
complete -c wait-probe -l insecure -d 'Do not verify https targets\' certificates (Postgres TLS follows the DSN\'s sslmode)'
complete -c wait-probe -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c wait-probe -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c wait-probe -s v -l verbose -d 'Print more detail on stderr'
complete -c wait-probe -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wait-probe -s V -l version -d 'Print version'
