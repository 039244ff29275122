#define _GNU_SOURCE
/*
 * http_sink: a minimal HTTP/1.1 receiver for bench/deliveries.sh, so that the
 * receiver is not what limits the measured delivery rate.  Listens on
 * 127.0.0.1:PORT (argv[1]; 0 = any, the port is printed), answers every
 * request with 200 and an empty body, keeps connections alive, and counts the
 * requests (and distinct Idempotency-Key values seen twice) until SIGTERM,
 * then prints "requests N duplicates N".  One thread, poll().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 1024
#define BUFSZ 65536
#define MAXKEY 1000000

static volatile sig_atomic_t stop = 0;
static unsigned char seen[MAXKEY];

static void on_term(int s) { (void) s; stop = 1; }

typedef struct { int fd; size_t len; char *buf; } Conn;

int
main(int argc, char **argv)
{
	int			lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {0};
	socklen_t	al = sizeof(a);
	static Conn c[MAXC];
	struct pollfd p[MAXC + 1];
	long		requests = 0, dups = 0;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	if (bind(lfd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(lfd, 512) < 0)
	{
		perror("bind/listen");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *) &a, &al);
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (int i = 0; i < MAXC; i++)
		c[i].fd = -1;
	while (!stop)
	{
		int			n = 0;
		int			map[MAXC + 1];

		p[n].fd = lfd;
		p[n++].events = POLLIN;
		for (int i = 0; i < MAXC; i++)
			if (c[i].fd >= 0)
			{
				map[n] = i;
				p[n].fd = c[i].fd;
				p[n++].events = POLLIN;
			}
		if (poll(p, n, 200) <= 0)
			continue;
		if (p[0].revents & POLLIN)
		{
			int			fd = accept(lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < MAXC; i++)
				if (c[i].fd < 0)
				{
					c[i].fd = fd;
					c[i].len = 0;
					if (!c[i].buf)
						c[i].buf = malloc(BUFSZ);
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
		for (int k = 1; k < n; k++)
		{
			Conn	   *x = &c[map[k]];
			ssize_t		r;

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(x->fd, x->buf + x->len, BUFSZ - 1 - x->len);
			if (r <= 0)
			{
				close(x->fd);
				x->fd = -1;
				continue;
			}
			x->len += r;
			x->buf[x->len] = '\0';
			for (;;)
			{
				char	   *end = strstr(x->buf, "\r\n\r\n");
				char	   *cl, *key;
				size_t		body = 0, total;

				if (!end)
					break;
				*end = '\0';
				cl = strcasestr(x->buf, "\r\nContent-Length:");
				if (cl)
					body = strtoul(cl + 17, NULL, 10);
				key = strcasestr(x->buf, "\r\nIdempotency-Key:");
				*end = '\r';
				total = (end + 4 - x->buf) + body;
				if (total > x->len)
					break;
				if (key)
				{
					long		id = strtol(key + 18, NULL, 10);

					if (id > 0 && id < MAXKEY && seen[id]++)
						dups++;
				}
				requests++;
				if (write(x->fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38) != 38)
					break;
				memmove(x->buf, x->buf + total, x->len - total);
				x->len -= total;
				x->buf[x->len] = '\0';
			}
		}
	}
	printf("requests %ld duplicates %ld\n", requests, dups);
	return 0;
}
