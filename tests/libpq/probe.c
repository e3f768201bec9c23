/*
 * The system libpq's verdict on connection strings, for
 * tests/libpq_differential.rs.
 *
 * Reads DSNs from stdin, separated by NUL bytes, and prints one record per
 * DSN, after one line naming the library's version (PQlibVersion, so the
 * test knows which release answered):
 *
 *   LIBPQ <version>
 *
 *   BEGIN
 *   PARSE-ERROR <text>             PQconninfoParse refused it, or
 *   OPT <keyword> <value>          each keyword it set, then
 *   CONNECT <text>                 PQconnectdb's error message ("OK" if none)
 *   END
 *
 * Texts are escaped so that each item stays on one line: backslash, newline
 * and tab become \\, \n and \t.
 *
 * The connection attempt never leaves this machine, and never meets a
 * server: TCP targets are pointed at 127.0.0.1 on a port that is bound but
 * not listening (refused at once, so libpq moves on to the next target after
 * having parsed connect_timeout), socket targets at a directory with no
 * socket in it, except the last target, which meets a listener that accepts
 * and at once closes the connection (libpq parses connect_timeout for it and
 * stops there, having nothing left to try). Values libpq would refuse (a
 * port that is not a number, a hostaddr that is not numeric) are left as
 * they are, so that libpq refuses them itself. The environment is the
 * caller's to clear. Usage: probe SOCKET_DIR
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libpq-fe.h>

static int tcp_port;
static const char *sock_dir;

static void *
acceptor(void *arg)
{
	int			listener = *(int *) arg;

	for (;;)
	{
		int			fd = accept(listener, NULL, NULL);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR)
			return NULL;
	}
}

static void
start_listeners(void)
{
	static int	tcp_fd;
	static int	unix_fd;
	struct sockaddr_in in = {0};
	struct sockaddr_un un = {0};
	socklen_t	len = sizeof(in);
	pthread_t	thread;

	/* Bound, never listening: connections to it are refused. */
	tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (tcp_fd < 0 || bind(tcp_fd, (struct sockaddr *) &in, sizeof(in)) != 0 ||
		getsockname(tcp_fd, (struct sockaddr *) &in, &len) != 0)
	{
		perror("probe: tcp port");
		exit(2);
	}
	tcp_port = ntohs(in.sin_port);

	unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/.s.PGSQL.%d", sock_dir, tcp_port);
	if (unix_fd < 0 || bind(unix_fd, (struct sockaddr *) &un, sizeof(un)) != 0 ||
		listen(unix_fd, 64) != 0)
	{
		perror("probe: unix listener");
		exit(2);
	}
	pthread_create(&thread, NULL, acceptor, &unix_fd);
}

static void
put_escaped(const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
}

/* Growable string. */
typedef struct
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_add(Buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			exit(3);
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_str(Buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* keyword='value' with ' and \ escaped, for PQconnectdb. */
static void
add_option(Buf *b, const char *keyword, const char *value)
{
	buf_str(b, keyword);
	buf_str(b, "='");
	for (; *value; value++)
	{
		if (*value == '\'' || *value == '\\')
			buf_add(b, "\\", 1);
		buf_add(b, value, 1);
	}
	buf_str(b, "' ");
}

/* Whether libpq would read `port` as a number from 1 to 65535. */
static int
valid_port(const char *port)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(port, &end, 10);
	if (end == port || errno != 0)
		return 0;
	while (*end == ' ' || (*end >= '\t' && *end <= '\r'))
		end++;
	return *end == '\0' && n >= 1 && n <= 65535;
}

static int
numeric_address(const char *addr)
{
	struct addrinfo hint = {0};
	struct addrinfo *res = NULL;
	int			rc;

	hint.ai_flags = AI_NUMERICHOST;
	hint.ai_family = AF_UNSPEC;
	hint.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(addr, NULL, &hint, &res);
	if (res)
		freeaddrinfo(res);
	return rc == 0;
}

/* The i-th comma-separated element of `list` (NULL list: ""). */
static char *
element(const char *list, int i)
{
	const char *s = list ? list : "";
	const char *e;

	for (; i > 0; i--)
	{
		s = strchr(s, ',');
		if (!s)
			return strdup("");
		s++;
	}
	e = strchr(s, ',');
	return strndup(s, e ? (size_t) (e - s) : strlen(s));
}

static int
count(const char *list)
{
	int			n = 1;

	for (; list && *list; list++)
		n += *list == ',';
	return n;
}

static void
probe(const char *dsn)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &err);
	const char *host = NULL;
	const char *hostaddr = NULL;
	const char *port = NULL;
	Buf			conninfo = {0};
	Buf			list = {0};
	char		portstr[16];
	int			n;
	PGconn	   *conn;

	puts("BEGIN");
	if (!opts)
	{
		fputs("PARSE-ERROR ", stdout);
		if (err)
		{
			size_t		len = strlen(err);

			while (len > 0 && err[len - 1] == '\n')
				err[--len] = '\0';
			put_escaped(err);
			PQfreemem(err);
		}
		else
			fputs("out of memory", stdout);
		puts("\nEND");
		return;
	}
	buf_str(&conninfo, "");
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val)
			continue;
		printf("OPT %s ", o->keyword);
		put_escaped(o->val);
		putchar('\n');
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else
			add_option(&conninfo, o->keyword, o->val);
	}

	/* Targets: as many as libpq counts, each pointed at our listeners. */
	if (hostaddr && hostaddr[0])
		n = count(hostaddr);
	else if (host && host[0])
		n = count(host);
	else
		n = 1;
	if (hostaddr && hostaddr[0])
	{
		for (int i = 0; i < n; i++)
		{
			char	   *a = element(hostaddr, i);

			buf_str(&list, i ? "," : "");
			buf_str(&list, a[0] && numeric_address(a) ? "127.0.0.1" : a);
			free(a);
		}
		add_option(&conninfo, "hostaddr", list.data);
		list.len = 0;
	}
	if (host && host[0] && count(host) != n)
		add_option(&conninfo, "host", host);	/* libpq refuses the pairing */
	else
	{
		for (int i = 0; i < n; i++)
		{
			char	   *h = element(host && host[0] ? host : NULL, i);
			char	   *a = element(hostaddr && hostaddr[0] ? hostaddr : NULL, i);

			buf_str(&list, i ? "," : "");
			if (a[0])
				buf_str(&list, h);	/* only named, never looked up */
			else if (!h[0] || h[0] == '/' || h[0] == '@')
			{
				buf_str(&list, sock_dir);
				if (i < n - 1)
					buf_str(&list, "/missing");
			}
			else
				buf_str(&list, "127.0.0.1");
			free(h);
			free(a);
		}
		add_option(&conninfo, "host", list.data);
		list.len = 0;
	}
	snprintf(portstr, sizeof(portstr), "%d", tcp_port);
	if (port && port[0])
	{
		for (int i = 0, ports = count(port); i < ports; i++)
		{
			char	   *p = element(port, i);

			buf_str(&list, i ? "," : "");
			buf_str(&list, !p[0] || valid_port(p) ? portstr : p);
			free(p);
		}
		add_option(&conninfo, "port", list.data);
	}
	else
		add_option(&conninfo, "port", portstr);

	conn = PQconnectdb(conninfo.data);
	fputs("CONNECT ", stdout);
	if (!conn)
		fputs("out of memory", stdout);
	else if (PQstatus(conn) == CONNECTION_OK)
		fputs("OK", stdout);
	else
		put_escaped(PQerrorMessage(conn));
	puts("\nEND");
	fflush(stdout);
	if (conn)
		PQfinish(conn);
	PQconninfoFree(opts);
	free(conninfo.data);
	free(list.data);
}

int
main(int argc, char **argv)
{
	Buf			dsn = {0};
	int			c;

	if (argc != 2)
	{
		fprintf(stderr, "usage: probe SOCKET_DIR < dsns\n");
		return 2;
	}
	sock_dir = argv[1];
	printf("LIBPQ %d\n", PQlibVersion());
	start_listeners();
	buf_str(&dsn, "");
	while ((c = getchar()) != EOF)
	{
		if (c == '\0')
		{
			probe(dsn.data);
			dsn.len = 0;
			dsn.data[0] = '\0';
		}
		else
		{
			char		ch = (char) c;

			buf_add(&dsn, &ch, 1);
		}
	}
	if (dsn.len > 0)
		probe(dsn.data);
	fflush(stdout);
	return 0;
}
