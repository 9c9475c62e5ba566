/* kitchen: a process that puts as many interesting things into its /proc files as it can, then waits.
 * Used once to record engine/src/test/resources/proc-samples/kitchen/. Prints its pid and the addresses
 * of its special mappings on stdout, then sleeps until killed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define PAGE 4096

static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }
/* A thread that forks, so the child shows up in this thread's task/TID/children, not the leader's. */
static void *parent_thread(void *arg) { (void)arg; if (fork() == 0) { for (;;) pause(); } for (;;) pause(); return NULL; }
static void on_usr2(int sig) { (void)sig; }
static void die(const char *what) { perror(what); exit(1); }

int main(void) {
    umask(027);
    if (personality(ADDR_NO_RANDOMIZE) < 0) die("personality");
    struct rlimit nofile = {1000, 4096};
    if (setrlimit(RLIMIT_NOFILE, &nofile)) die("setrlimit");
    struct rlimit core = {4096, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &core)) die("setrlimit core");

    /* Signal masks: SIGUSR1 blocked, SIGHUP ignored, SIGUSR2 caught, SIGTERM pending (blocked then raised). */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1); sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR2, on_usr2);
    kill(getpid(), SIGTERM);

    /* Mappings: a file with spaces in its name that is then deleted, a shared anon, a locked, a dontdump,
     * a growsdown, a userfaultfd missing+wp region. Each is touched so it has Rss. */
    const char *path = "/tmp/procrec/mapped file (x).bin";
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (f < 0 || ftruncate(f, 2 * PAGE)) die("file");
    char *filemap = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    filemap[0] = 1;
    const char *gone = "/tmp/procrec/gone soon";
    int g = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (g < 0 || ftruncate(g, PAGE)) die("gone");
    char *gonemap = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, g, 0);
    (void)gonemap[0];
    close(g);
    unlink(gone);
    char *shanon = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shanon[0] = 1;
    char *locked = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mlock(locked, 2 * PAGE)) die("mlock");
    char *nodump = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (madvise(nodump, 4 * PAGE, MADV_DONTDUMP)) die("madvise");
    nodump[0] = 1;
    char *down = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    down[5 * PAGE - 1] = 1;
    char *named = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, named, 6 * PAGE, "jmigrate test");
    char *uffdmap = mmap(NULL, 7 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0) die("userfaultfd");
    struct uffdio_api api = {.api = UFFD_API, .features = 0};
    if (ioctl(uffd, UFFDIO_API, &api)) die("UFFDIO_API");
    struct uffdio_register reg = {.range = {(unsigned long)uffdmap, 7 * PAGE},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg)) die("UFFDIO_REGISTER");

    /* Descriptors for fdinfo: a regular file at a known position, eventfd, timerfd, inotify, signalfd, epoll, pipe. */
    int reg_fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    lseek(reg_fd, 5, SEEK_SET);
    int efd = eventfd(42, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {.it_interval = {3600, 0}, .it_value = {3600, 0}};
    timerfd_settime(tfd, 0, &its, NULL);
    int ifd = inotify_init1(0);
    inotify_add_watch(ifd, "/tmp", IN_CREATE | IN_DELETE);
    sigset_t sfdset; sigemptyset(&sfdset); sigaddset(&sfdset, SIGUSR1);
    int sfd = signalfd(-1, &sfdset, 0);
    int epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
    epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
    int pipes[2];
    if (pipe2(pipes, O_NONBLOCK)) die("pipe");

    if (fork() == 0) { for (;;) pause(); }
    pthread_t t1, t2;
    pthread_create(&t1, NULL, idle, NULL);
    pthread_create(&t2, NULL, parent_thread, NULL);
    pthread_setname_np(t1, "worker one");

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("nnp");
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {.len = 1, .filter = allow};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) die("seccomp");
    prctl(PR_SET_NAME, "kit (chen) x");

    printf("pid %d\nfilemap %p\ngonemap %p\nshanon %p\nlocked %p\nnodump %p\ndown %p\nnamed %p\nuffd %p\n"
           "fds reg=%d efd=%d tfd=%d ifd=%d sfd=%d epfd=%d uffd=%d pipe=%d,%d mapfile=%d\n",
           getpid(), filemap, gonemap, shanon, locked, nodump, down, named, uffdmap,
           reg_fd, efd, tfd, ifd, sfd, epfd, uffd, pipes[0], pipes[1], f);
    fflush(stdout);
    for (;;) pause();
}
