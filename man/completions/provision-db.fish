complete -c provision-db -l root-url -d 'Admin DSN, used only for provisioning: a superuser, or a role with CREATEROLE and CREATEDB' -r
complete -c provision-db -l url -d 'Runtime DSN of the app role' -r
complete -c provision-db -l service-url -d 'Runtime DSN of the service role (migrations, workers)' -r
complete -c provision-db -l env-file -d 'Read variables from a dotenv file (`-` for stdin); flags still win' -r -F
complete -c provision-db -l owner -d 'Who owns the database and creates its objects' -r -f -a "root\t'The admin role of DATABASE_ROOT_URL'
service\t'The service role of DATABASE_SERVICE_URL (migrations run with it)'"
complete -c provision-db -l schema -d 'A schema to manage (repeatable); created for the owner when missing' -r
complete -c provision-db -l env-marker -d 'Create the one-row marker table naming ENV, or verify it; another value fails closed' -r
complete -c provision-db -l marker-table -d 'The marker table (`table` or `schema.table`; an unqualified one goes in the first --schema)' -r
complete -c provision-db -l env -d 'Deployment environment; production (`production` or `prod`, any case) needs --confirm-production to change anything' -r
complete -c provision-db -l timeout -d 'Deadline for each connection (DNS, connect, TLS, login)' -r
complete -c provision-db -l lock-timeout -d 'How long to wait for another provision-db run on the same server' -r
complete -c provision-db -l statement-lock-timeout -d 'Postgres lock_timeout for each statement: a GRANT behind a long transaction fails (exit 3) instead of hanging' -r
complete -c provision-db -l statement-timeout -d 'Postgres statement_timeout for each statement and catalog query' -r
complete -c provision-db -l plan -d 'Print the statements that would run (passwords as ***); change nothing'
complete -c provision-db -l check -d 'Like --plan, but exit 1 when anything would change (drift detection)'
complete -c provision-db -l no-service-bypassrls -d 'Do not give the service role BYPASSRLS (take it away if it has it)'
complete -c provision-db -l confirm-production -d 'Lift the production lock (the same as CONFIRM_PROD_MIGRATE=YES)'
complete -c provision-db -l json -d 'Print the result as one JSON document on stdout instead of text'
complete -c provision-db -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c provision-db -s v -l verbose -d 'Print more detail on stderr'
complete -c provision-db -s h -l help -d 'Print help (see more with \'--help\')'
complete -c provision-db -s V -l version -d 'Print version'
