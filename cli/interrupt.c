/* interrupt.c: SIGINT and SIGTERM for every nicex command (see cli.h).
 *
 * Immediate mode (the default, installed by main): the handler unlinks the
 * temporary files of atomic writes still open (so no "<out>.tmp.XXXXXX"
 * survives), prints one line (and the note a command set, e.g. where the
 * last good checkpoint is) and exits with 128 + the signal number.
 *
 * Deferred mode (a training loop): the first signal only sets
 * interrupt_pending; the loop stops at the next step boundary, so a
 * checkpoint being written is finished first and the pair on disk stays
 * consistent. A second signal exits at once, as in immediate mode.
 * Only async-signal-safe calls (write, unlink, _exit) run in the handler.
 */
#include "cli/cli.h"
#include "tensor/safetensors.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t interrupt_pending;
static volatile sig_atomic_t deferred;
static char note[4096];
static volatile sig_atomic_t note_len;

static void say(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w, n -= (size_t)w;
    }
}

static void on_signal(int sig) {
    if (deferred && !interrupt_pending) {
        interrupt_pending = sig;
        return;
    }
    atomic_file_remove_temporaries();
    const char *what = sig == SIGINT ? "\nnicex: interrupted (SIGINT)" : "\nnicex: terminated (SIGTERM)";
    say(what, strlen(what));
    if (note_len > 0) {
        say("; ", 2);
        say(note, (size_t)note_len);
    }
    say("\n", 1);
    _exit(128 + sig);
}

void interrupt_install(bool defer) {
    deferred = defer;
    interrupt_pending = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void interrupt_set_note(const char *text) {
    note_len = 0; /* the handler ignores the note while it changes */
    size_t n = text ? strlen(text) : 0;
    if (n >= sizeof note) n = sizeof note - 1;
    memcpy(note, text, n);
    note_len = (sig_atomic_t)n;
}

const char *interrupt_signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }
