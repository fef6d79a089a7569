/*
 * kmsgw's PKCS#11 test module: a PKCS#11 v2.40 library that loads a real module (SoftHSM2 by default) with dlopen
 * and forwards every function of its function list to it, while behaving, on request, like HSMs the project cannot
 * run (AWS CloudHSM, Thales Luna in FIPS mode) and failing, hanging or losing its token when a test says so.
 * Built by the test build (pom.xml, phase process-test-classes) into target/native/libkmsgw-test-pkcs11.so.
 *
 * It is a 2.40 module: it exports C_GetFunctionList only (no C_GetInterface / C_GetInterfaceList), whatever the
 * real module's version, and returns CKR_FUNCTION_NOT_SUPPORTED for nothing the real module supports unless told.
 *
 * ENVIRONMENT
 *   KMSGW_TEST_PKCS11_TARGET   the real module (default: SoftHSM2 from Debian's paths)
 *   KMSGW_TEST_PKCS11_CONTROL  the control file; re-read whenever it changes (inode, size or mtime), checked at the
 *                              start of every call, so a test can change the behaviour while an application runs
 *                              (write a new file and rename it over the old one)
 *   KMSGW_TEST_PKCS11_OPTIONS  control lines separated by ';', read once, before the control file's
 *
 * CONTROL FILE: one key=value per line; blank lines and lines starting with '#' are ignored; a later line wins.
 * Every change of the file resets the call counters of fail./hang. rules. CKR values are names (CKR_DEVICE_ERROR)
 * or numbers (0x30, 48).
 *   target=PATH                  the real module (read once, when the module is first initialised)
 *   log=PATH                     append one line per event (IVs written, faults fired, logins refused); no PINs
 *   vendor=cloudhsm|luna-fips|softhsm   sets the keys below as that HSM behaves; later lines override them
 *   gcm_iv=caller|hsm|hsm-append  caller: forwarded unchanged. hsm: CloudHSM, the module generates a 12-byte IV at
 *                                C_EncryptInit (CKM_AES_GCM), writes it into the caller's CK_GCM_PARAMS.pIv and
 *                                encrypts with it. hsm-append: Luna FIPS mode, a 16-byte IV is generated and appended
 *                                to C_Encrypt's output after the tag (the caller's pIv is left alone)
 *   gcm_iv_write=init|encrypt|probe   with gcm_iv=hsm: write pIv during C_EncryptInit (default) or during C_Encrypt
 *                                (the caller must keep the CK_GCM_PARAMS memory alive until then); probe: write during
 *                                C_EncryptInit, and at C_Encrypt only log whether pIv's memory still holds that IV
 *   gcm_iv_zeroed=0|1            with gcm_iv=hsm: C_EncryptInit fails CKR_MECHANISM_PARAM_INVALID unless pIv points
 *                                to 12 zero bytes
 *   gcm_max_data=N               C_Encrypt / C_Decrypt with CKM_AES_GCM on more than N bytes fail
 *                                (CKR_DATA_LEN_RANGE / CKR_ENCRYPTED_DATA_LEN_RANGE); 0: no limit
 *   gcm_tag_error=CKR            C_Decrypt with CKM_AES_GCM answers this instead of the real module's
 *                                CKR_GENERAL_ERROR (SoftHSM2's code for a tag mismatch); empty: unchanged
 *   read_only_sessions=allow|CKR C_OpenSession without CKF_RW_SESSION: allowed, or fails with this code
 *   pin=plain|user:password      user:password: C_Login as CKU_USER needs a PIN of that form and logs in to the
 *                                real token with the part after the first ':' (CKR_PIN_INCORRECT otherwise); other
 *                                user types (the SO that initialises tokens) log in unchanged
 *   unsupported=C_A,C_B          these functions answer CKR_FUNCTION_NOT_SUPPORTED
 *   hide_mechanisms=M1,M2        these mechanisms (CKM_AES_GCM, ... for those the gateway uses, or numbers such as
 *                                0x1087) are left out of C_GetMechanismList, C_GetMechanismInfo answers
 *                                CKR_MECHANISM_INVALID for them, and so do C_EncryptInit and C_DecryptInit; other
 *                                functions still pass them on. Empty: none hidden
 *   max_sessions=N               C_OpenSession fails CKR_SESSION_COUNT while N sessions of the application are
 *                                open (all slots); empty: no limit
 *   private_copy=1|0             load a copy of the target (default 1): dlopen of a path the process already loaded
 *                                returns that instance, whose state (sessions, C_Finalize) the module would then share
 *   fail.C_Name=CKR [from=N] [times=K]   calls number N .. N+K-1 of C_Name (counted from 1 since the rule was read)
 *                                return CKR; from defaults to 1, times to 0 (every call from N on). fail.*= counts
 *                                every call of every function. C_Encrypt, C_Decrypt, C_Sign, C_Digest and C_Verify
 *                                run the real call first (so the real session's operation ends, as the standard says
 *                                it does after an error) and a length query (NULL output) is never failed or counted
 *   hang.C_Name=MS [from=N] [times=K]    those calls first sleep MS milliseconds (hang.* for every function)
 *   token_removed=LABEL|*        the token with this label (or every token) is gone: C_GetSlotList(tokenPresent)
 *                                omits its slot, C_GetSlotInfo clears CKF_TOKEN_PRESENT, calls on the slot fail
 *                                CKR_TOKEN_NOT_PRESENT and calls on its sessions fail token_removed_ckr. Sessions
 *                                open when it went stay dead after it comes back (CKR_SESSION_HANDLE_INVALID) until
 *                                closed; empty: every token is present
 *   token_removed_ckr=CKR        default CKR_DEVICE_REMOVED
 *
 * Thread-safe: one mutex guards the control state and the session table, never held across a call into the real
 * module or a sleep. The control file's parser and the vendor presets (with their citations) are in
 * kmsgw_test_pkcs11_control.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmsgw_pkcs11.h"

#define EXPORT __attribute__((visibility("default")))

#include "kmsgw_test_pkcs11_control.h"

struct session {
  CK_SESSION_HANDLE handle;
  CK_SLOT_ID slot;
  char label[33];
  int severed;
  int gcm_encrypt; /* a CKM_AES_GCM encryption is initialised */
  int gcm_decrypt;
  int append_iv; /* Luna: append iv[0..16) to C_Encrypt's output */
  CK_BYTE iv[16];
  CK_BYTE *iv_dest; /* CloudHSM, write=encrypt|probe: the caller's pIv */
  CK_BYTE iv_seen[12]; /* what iv_dest held when C_EncryptInit returned */
  int iv_pending;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct control ctl;
static int ctl_ready;
static struct stat ctl_stat;
static int ctl_stat_valid;
static FILE *log_file;
static char log_path[512];

static struct session *sessions;
static size_t session_count;
static size_t session_capacity;
static size_t sessions_reserved; /* C_OpenSession calls between the limit check and the real call's return */

static void *real_lib;
static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST module_list;

/* ---------------------------------------------------------------- events */

/* Appends one line to the log file, if any. Called with the lock held. */
static void event_locked(const char *fmt, ...) {
  if (ctl.log[0] == '\0') {
    return;
  }
  if (log_file == NULL || strcmp(log_path, ctl.log) != 0) {
    if (log_file != NULL) {
      fclose(log_file);
    }
    log_file = fopen(ctl.log, "a");
    snprintf(log_path, sizeof log_path, "%s", ctl.log);
    if (log_file == NULL) {
      return;
    }
  }
  va_list ap;
  va_start(ap, fmt);
  vfprintf(log_file, fmt, ap);
  va_end(ap);
  fputc('\n', log_file);
  fflush(log_file);
}

static void event(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&lock);
  event_locked("%s", line);
  pthread_mutex_unlock(&lock);
}

static void hex(const CK_BYTE *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

static int label_matches(const char *removed, const char *label) {
  return removed[0] != '\0' && (strcmp(removed, "*") == 0 || strcmp(removed, label) == 0);
}

/* Re-reads the control if its file changed. Called with the lock held. */
static void reload_locked(void) {
  const char *path = getenv("KMSGW_TEST_PKCS11_CONTROL");
  struct stat st;
  int have_file = path != NULL && *path != '\0' && stat(path, &st) == 0;
  if (ctl_ready) {
    if (!have_file && !ctl_stat_valid) {
      return;
    }
    if (have_file && ctl_stat_valid && st.st_ino == ctl_stat.st_ino && st.st_dev == ctl_stat.st_dev
        && st.st_size == ctl_stat.st_size && st.st_mtim.tv_sec == ctl_stat.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == ctl_stat.st_mtim.tv_nsec) {
      return;
    }
  }
  struct control next;
  control_defaults(&next);
  int bad = 0;
  const char *options = getenv("KMSGW_TEST_PKCS11_OPTIONS");
  if (options != NULL) {
    char *copy = strdup(options);
    if (copy != NULL) {
      bad += parse_control(&next, copy, 1, "KMSGW_TEST_PKCS11_OPTIONS");
      free(copy);
    }
  }
  if (have_file) {
    FILE *f = fopen(path, "r");
    if (f != NULL) {
      size_t cap = 4096;
      size_t len = 0;
      char *text = malloc(cap);
      size_t n;
      while (text != NULL && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
          char *grown = realloc(text, cap * 2);
          if (grown == NULL) {
            break;
          }
          text = grown;
          cap *= 2;
        }
      }
      fclose(f);
      if (text != NULL) {
        text[len] = '\0';
        bad += parse_control(&next, text, 0, path);
        free(text);
      }
    }
  }
  /* the target is chosen once: the real module cannot change under a running application */
  if (real_lib != NULL) {
    memcpy(next.target, ctl.target, sizeof next.target);
  }
  int removal_started = next.removed[0] != '\0' && strcmp(next.removed, ctl.removed) != 0;
  ctl = next;
  ctl_ready = 1;
  ctl_stat_valid = have_file;
  if (have_file) {
    ctl_stat = st;
  }
  if (bad > 0) {
    event_locked("control bad_lines=%d", bad);
  }
  if (removal_started) {
    int severed = 0;
    for (size_t i = 0; i < session_count; i++) {
      if (!sessions[i].severed && label_matches(ctl.removed, sessions[i].label)) {
        sessions[i].severed = 1;
        severed++;
      }
    }
    event_locked("token_removed label=%s sessions_severed=%d", ctl.removed, severed);
  }
  event_locked("control loaded");
}

/* ---------------------------------------------------------------- sessions (lock held) */

static struct session *find_session_locked(CK_SESSION_HANDLE h) {
  for (size_t i = 0; i < session_count; i++) {
    if (sessions[i].handle == h) {
      return &sessions[i];
    }
  }
  return NULL;
}

static int add_session_locked(CK_SESSION_HANDLE h, CK_SLOT_ID slot, const char *label) {
  if (session_count == session_capacity) {
    size_t cap = session_capacity == 0 ? 64 : session_capacity * 2;
    struct session *grown = realloc(sessions, cap * sizeof *grown);
    if (grown == NULL) {
      return 0;
    }
    sessions = grown;
    session_capacity = cap;
  }
  struct session *s = &sessions[session_count++];
  memset(s, 0, sizeof *s);
  s->handle = h;
  s->slot = slot;
  snprintf(s->label, sizeof s->label, "%s", label);
  return 1;
}

static void remove_session_locked(CK_SESSION_HANDLE h) {
  for (size_t i = 0; i < session_count; i++) {
    if (sessions[i].handle == h) {
      sessions[i] = sessions[--session_count];
      return;
    }
  }
}

/* ---------------------------------------------------------------- the real module */

static const char *const DEFAULT_TARGETS[] = {
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
};

/*
 * dlopen of a path already loaded in the process returns the same instance: an application that also loads the
 * target itself (kmsgw creates its development tokens through libsofthsm2.so; a test JVM has SoftHSM2 loaded for its
 * other tests) would share the target's state with the module, and a C_Finalize on one side would end the other's
 * sessions. A copy of the file, loaded under another name, is an instance of the module's own.
 */
static void *open_private_copy(const char *target) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || *dir == '\0') {
    dir = "/tmp";
  }
  char path[600];
  snprintf(path, sizeof path, "%s/kmsgw-test-pkcs11-target-XXXXXX.so", dir);
  int out = mkstemps(path, 3);
  if (out < 0) {
    return NULL;
  }
  int in = open(target, O_RDONLY | O_CLOEXEC);
  int ok = in >= 0;
  char buf[65536];
  ssize_t n;
  while (ok && (n = read(in, buf, sizeof buf)) != 0) {
    ok = n > 0 && write(out, buf, (size_t)n) == n;
  }
  if (in >= 0) {
    close(in);
  }
  ok = close(out) == 0 && ok;
  void *lib = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
  if (lib == NULL) {
    fprintf(stderr, "kmsgw-test-pkcs11: cannot load a private copy of %s (%s); loading it directly\n", target,
            ok ? dlerror() : strerror(errno));
  }
  unlink(path);
  return lib;
}

/* Loads the real module once. Called with the lock held. */
static CK_RV load_real_locked(void) {
  if (real != NULL) {
    return CKR_OK;
  }
  const char *target = ctl.target[0] != '\0' ? ctl.target : getenv("KMSGW_TEST_PKCS11_TARGET");
  if (target == NULL || *target == '\0') {
    for (size_t i = 0; i < sizeof DEFAULT_TARGETS / sizeof DEFAULT_TARGETS[0]; i++) {
      if (access(DEFAULT_TARGETS[i], R_OK) == 0) {
        target = DEFAULT_TARGETS[i];
        break;
      }
    }
  }
  if (target == NULL) {
    fprintf(stderr, "kmsgw-test-pkcs11: no target module (set KMSGW_TEST_PKCS11_TARGET)\n");
    return CKR_GENERAL_ERROR;
  }
  void *lib = ctl.private_copy ? open_private_copy(target) : NULL;
  if (lib == NULL) {
    lib = dlopen(target, RTLD_NOW | RTLD_LOCAL);
  }
  if (lib == NULL) {
    fprintf(stderr, "kmsgw-test-pkcs11: cannot load %s: %s\n", target, dlerror());
    return CKR_GENERAL_ERROR;
  }
  CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR list = NULL;
  if (get == NULL || get(&list) != CKR_OK || list == NULL) {
    fprintf(stderr, "kmsgw-test-pkcs11: %s has no usable C_GetFunctionList\n", target);
    dlclose(lib);
    return CKR_GENERAL_ERROR;
  }
  real_lib = lib;
  real = list;
  snprintf(ctl.target, sizeof ctl.target, "%s", target);
  event_locked("target %s", target);
  return CKR_OK;
}

/* The trimmed label of the token in a slot, from the real module; "" if it has none or the call fails. */
static void slot_label(CK_SLOT_ID slot, char out[33]) {
  CK_TOKEN_INFO info;
  out[0] = '\0';
  if (real->C_GetTokenInfo(slot, &info) != CKR_OK) {
    return;
  }
  memcpy(out, info.label, 32);
  out[32] = '\0';
  for (int i = 31; i >= 0 && (out[i] == ' ' || out[i] == '\0'); i--) {
    out[i] = '\0';
  }
}

/* ---------------------------------------------------------------- the common prologue */

struct decision {
  CK_RV rv;          /* CKR_OK: go on */
  CK_RV injected;    /* for the call-first functions: the code to return after the real call */
  unsigned long hang_ms;
  char removed[33];  /* the removal in force, for slot checks done outside the lock */
};

static int rule_fires_locked(struct rule *r) {
  if (!r->active) {
    return 0;
  }
  r->count++;
  return r->count >= r->from && (r->times == 0 || r->count < r->from + r->times);
}

/*
 * Decides what a call does before it reaches the real module: re-reads the control, counts the call against the
 * fail./hang. rules, checks the session's token. With call_first, a fired fail rule is reported in d->injected and
 * the caller runs the real call before returning it.
 */
enum { CALL_FIRST = 1, CHECK_REMOVAL = 2, NO_RULES = 4 };

static void decide(int fn, int kind, CK_ULONG handle, int flags, struct decision *d) {
  int call_first = flags & CALL_FIRST;
  int check_removal = flags & CHECK_REMOVAL;
  int rules = !(flags & NO_RULES);
  memset(d, 0, sizeof *d);
  char name[40];
  pthread_mutex_lock(&lock);
  reload_locked();
  if (real == NULL && fn != FN_C_Initialize) {
    d->rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    pthread_mutex_unlock(&lock);
    return;
  }
  if (rules && rule_fires_locked(&ctl.hang[fn])) {
    d->hang_ms = ctl.hang[fn].value;
  }
  if (rules && rule_fires_locked(&ctl.hang[FN_COUNT])) {
    d->hang_ms += ctl.hang[FN_COUNT].value;
  }
  if (d->hang_ms > 0) {
    event_locked("hang %s ms=%lu", FN_NAMES[fn], d->hang_ms);
  }
  CK_RV fail = CKR_OK;
  int fired = 0;
  if (rules && rule_fires_locked(&ctl.fail[fn])) {
    fail = ctl.fail[fn].value;
    fired = 1;
  }
  if (rules && !fired && rule_fires_locked(&ctl.fail[FN_COUNT])) {
    fail = ctl.fail[FN_COUNT].value;
    fired = 1;
  }
  if (fired) {
    event_locked("fail %s rv=%s", FN_NAMES[fn], ckr_name(fail, name, sizeof name));
    if (call_first) {
      d->injected = fail;
    } else {
      d->rv = fail;
    }
  }
  if (d->rv == CKR_OK && ctl.unsupported[fn]) {
    d->rv = CKR_FUNCTION_NOT_SUPPORTED;
  }
  if (d->rv == CKR_OK && check_removal && kind == KIND_H) {
    struct session *s = find_session_locked(handle);
    if (s != NULL && s->severed) {
      d->rv = label_matches(ctl.removed, s->label) ? ctl.removed_ckr : CKR_SESSION_HANDLE_INVALID;
    }
  }
  memcpy(d->removed, ctl.removed, sizeof d->removed);
  pthread_mutex_unlock(&lock);

  if (d->hang_ms > 0) {
    struct timespec t = {(time_t)(d->hang_ms / 1000), (long)(d->hang_ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
  }
  if (d->rv == CKR_OK && check_removal && kind == KIND_S && d->removed[0] != '\0') {
    char label[33];
    slot_label((CK_SLOT_ID)handle, label);
    if (label_matches(d->removed, label)) {
      d->rv = CKR_TOKEN_NOT_PRESENT;
    }
  }
}

/* The generic forwarder of every function marked G. */
#define KMSGW_FIRST_ARG(a, ...) a
#define KMSGW_FIRST(args) KMSGW_FIRST_ARG args
#define KMSGW_DEFINE_G(name, params, args, kind) \
  static CK_RV w_##name params { \
    struct decision d_; \
    decide(FN_##name, KIND_##kind, (CK_ULONG)(uintptr_t)(KMSGW_FIRST(args)), CHECK_REMOVAL, &d_); \
    if (d_.rv != CKR_OK) { \
      return d_.rv; \
    } \
    return real->name args; \
  }
#define KMSGW_DEFINE_C(name, params, args, kind) static CK_RV w_##name params;
#define KMSGW_DEFINE(name, params, args, kind, impl) KMSGW_DEFINE_##impl(name, params, args, kind)
KMSGW_P11_FUNCTIONS(KMSGW_DEFINE)

/* ---------------------------------------------------------------- general functions */

static CK_RV w_C_Initialize(CK_VOID_PTR args) {
  pthread_mutex_lock(&lock);
  reload_locked();
  CK_RV rv = load_real_locked();
  pthread_mutex_unlock(&lock);
  if (rv != CKR_OK) {
    return rv;
  }
  struct decision d;
  decide(FN_C_Initialize, KIND_N, 0, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  return real->C_Initialize(args);
}

static CK_RV w_C_Finalize(CK_VOID_PTR reserved) {
  struct decision d;
  decide(FN_C_Finalize, KIND_N, 0, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_Finalize(reserved);
  if (rv == CKR_OK) {
    pthread_mutex_lock(&lock);
    session_count = 0;
    pthread_mutex_unlock(&lock);
  }
  return rv;
}

static CK_RV w_C_GetInfo(CK_INFO_PTR info) {
  struct decision d;
  decide(FN_C_GetInfo, KIND_N, 0, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_GetInfo(info);
  if (rv == CKR_OK && info != NULL) {
    /* who answers is visible (pkcs11-tool -I): the real module's manufacturer stays */
    static const char desc[] = "kmsgw test module";
    memset(info->libraryDescription, ' ', sizeof info->libraryDescription);
    memcpy(info->libraryDescription, desc, sizeof desc - 1);
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
  }
  return rv;
}

static CK_RV w_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == NULL) {
    return CKR_ARGUMENTS_BAD;
  }
  *out = &module_list;
  return CKR_OK;
}

/* ---------------------------------------------------------------- slots and tokens */

static CK_RV w_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  struct decision d;
  decide(FN_C_GetSlotList, KIND_N, 0, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  if (!present || d.removed[0] == '\0') {
    return real->C_GetSlotList(present, list, count);
  }
  if (count == NULL) {
    return CKR_ARGUMENTS_BAD;
  }
  CK_SLOT_ID *all = NULL;
  CK_ULONG n = 0;
  CK_RV rv;
  do {
    rv = real->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK) {
      return rv;
    }
    free(all);
    all = calloc(n + 1, sizeof *all);
    if (all == NULL) {
      return CKR_HOST_MEMORY;
    }
    rv = real->C_GetSlotList(CK_TRUE, all, &n);
  } while (rv == CKR_BUFFER_TOO_SMALL);
  if (rv != CKR_OK) {
    free(all);
    return rv;
  }
  CK_ULONG kept = 0;
  for (CK_ULONG i = 0; i < n; i++) {
    char label[33];
    slot_label(all[i], label);
    if (!label_matches(d.removed, label)) {
      all[kept++] = all[i];
    }
  }
  if (list == NULL) {
    rv = CKR_OK;
  } else if (*count < kept) {
    rv = CKR_BUFFER_TOO_SMALL;
  } else {
    memcpy(list, all, kept * sizeof *all);
    rv = CKR_OK;
  }
  *count = kept;
  free(all);
  return rv;
}

static CK_RV w_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  struct decision d;
  decide(FN_C_GetSlotInfo, KIND_S, slot, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && info != NULL && d.removed[0] != '\0') {
    char label[33];
    slot_label(slot, label);
    if (label_matches(d.removed, label)) {
      info->flags &= ~CKF_TOKEN_PRESENT;
    }
  }
  return rv;
}

/* ---------------------------------------------------------------- sessions */

static CK_RV w_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                             CK_SESSION_HANDLE_PTR out) {
  struct decision d;
  decide(FN_C_OpenSession, KIND_S, slot, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  pthread_mutex_lock(&lock);
  if (ctl.read_only_error != CKR_OK && (flags & CKF_RW_SESSION) == 0) {
    CK_RV refused = ctl.read_only_error;
    event_locked("read_only_session refused");
    pthread_mutex_unlock(&lock);
    return refused;
  }
  if (ctl.max_sessions >= 0 && session_count + sessions_reserved >= (size_t)ctl.max_sessions) {
    event_locked("session_count refused open=%zu max=%ld", session_count + sessions_reserved, ctl.max_sessions);
    pthread_mutex_unlock(&lock);
    return CKR_SESSION_COUNT;
  }
  sessions_reserved++;
  pthread_mutex_unlock(&lock);

  char label[33];
  slot_label(slot, label);
  CK_RV rv = real->C_OpenSession(slot, flags, app, notify, out);

  pthread_mutex_lock(&lock);
  sessions_reserved--;
  if (rv == CKR_OK && !add_session_locked(*out, slot, label)) {
    pthread_mutex_unlock(&lock);
    real->C_CloseSession(*out);
    return CKR_HOST_MEMORY;
  }
  pthread_mutex_unlock(&lock);
  return rv;
}

static CK_RV w_C_CloseSession(CK_SESSION_HANDLE h) {
  struct decision d;
  /* no removal check: a dead session must still be closable, or the real module keeps it (and its login) */
  decide(FN_C_CloseSession, KIND_H, h, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_CloseSession(h);
  if (rv == CKR_OK || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
    pthread_mutex_lock(&lock);
    remove_session_locked(h);
    pthread_mutex_unlock(&lock);
  }
  return rv;
}

static CK_RV w_C_CloseAllSessions(CK_SLOT_ID slot) {
  struct decision d;
  decide(FN_C_CloseAllSessions, KIND_S, slot, 0, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_CloseAllSessions(slot);
  if (rv == CKR_OK) {
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < session_count;) {
      if (sessions[i].slot == slot) {
        sessions[i] = sessions[--session_count];
      } else {
        i++;
      }
    }
    pthread_mutex_unlock(&lock);
  }
  return rv;
}

static CK_RV w_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len) {
  struct decision d;
  decide(FN_C_Login, KIND_H, h, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  pthread_mutex_lock(&lock);
  int user_password = ctl.pin_user_password;
  pthread_mutex_unlock(&lock);
  if (!user_password || pin == NULL || user != CKU_USER) {
    return real->C_Login(h, user, pin, pin_len);
  }
  /* AWS CloudHSM: the PKCS#11 PIN is "<HSM_user_name>:<password>" (User Guide, "Authenticate to the PKCS #11
     library"); the user name picks the HSM user, the password part is what the token checks */
  CK_ULONG colon = 0;
  while (colon < pin_len && pin[colon] != ':') {
    colon++;
  }
  if (colon == 0 || colon >= pin_len - 1) {
    event("login refused: the PIN is not of the form user:password");
    return CKR_PIN_INCORRECT;
  }
  char user_name[64];
  size_t shown = colon < sizeof user_name - 1 ? colon : sizeof user_name - 1;
  memcpy(user_name, pin, shown);
  user_name[shown] = '\0';
  CK_RV rv = real->C_Login(h, user, pin + colon + 1, pin_len - colon - 1);
  char name[40];
  event("login user=%s rv=%s", user_name, ckr_name(rv, name, sizeof name));
  return rv;
}

/* ---------------------------------------------------------------- AES-GCM */

/* ---------------------------------------------------------------- mechanisms */

static int hidden_locked(CK_MECHANISM_TYPE t) {
  for (size_t i = 0; i < ctl.hidden_count; i++) {
    if (ctl.hidden[i] == t) {
      return 1;
    }
  }
  return 0;
}

static int hidden(CK_MECHANISM_TYPE t) {
  pthread_mutex_lock(&lock);
  int h = hidden_locked(t);
  pthread_mutex_unlock(&lock);
  return h;
}

/* The real list without the hidden mechanisms, with the standard's two-call convention (PKCS#11 v2.40 5.2). */
static CK_RV w_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  struct decision d;
  decide(FN_C_GetMechanismList, KIND_S, slot, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  if (count == NULL) {
    return CKR_ARGUMENTS_BAD;
  }
  CK_ULONG n = 0;
  CK_RV rv = real->C_GetMechanismList(slot, NULL, &n);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_MECHANISM_TYPE *all = calloc(n == 0 ? 1 : n, sizeof *all);
  if (all == NULL) {
    return CKR_HOST_MEMORY;
  }
  rv = real->C_GetMechanismList(slot, all, &n);
  if (rv != CKR_OK) {
    free(all);
    return rv;
  }
  CK_ULONG kept = 0;
  pthread_mutex_lock(&lock);
  for (CK_ULONG i = 0; i < n; i++) {
    if (!hidden_locked(all[i])) {
      all[kept++] = all[i];
    }
  }
  pthread_mutex_unlock(&lock);
  if (list == NULL) {
    rv = CKR_OK;
  } else if (*count < kept) {
    rv = CKR_BUFFER_TOO_SMALL;
  } else {
    memcpy(list, all, kept * sizeof *all);
  }
  *count = kept;
  free(all);
  return rv;
}

static CK_RV w_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
  struct decision d;
  decide(FN_C_GetMechanismInfo, KIND_S, slot, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  if (hidden(type)) {
    return CKR_MECHANISM_INVALID;
  }
  return real->C_GetMechanismInfo(slot, type, info);
}

static int is_gcm(CK_MECHANISM_PTR m) {
  return m != NULL && m->mechanism == CKM_AES_GCM && m->pParameter != NULL
         && (m->ulParameterLen == sizeof(CK_GCM_PARAMS) || m->ulParameterLen == sizeof(CK_GCM_PARAMS_240_TEXT));
}

static CK_RV w_C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) {
  struct decision d;
  decide(FN_C_EncryptInit, KIND_H, h, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  if (m != NULL && hidden(m->mechanism)) {
    return CKR_MECHANISM_INVALID;
  }
  pthread_mutex_lock(&lock);
  int mode = is_gcm(m) ? ctl.gcm_iv : IV_CALLER;
  int write = ctl.gcm_iv_write;
  int zeroed = ctl.gcm_iv_zeroed;
  pthread_mutex_unlock(&lock);

  /* both layouts of CK_GCM_PARAMS begin with pIv, ulIvLen: a copy with those two changed is the same layout */
  union {
    CK_GCM_PARAMS p;
    CK_GCM_PARAMS_240_TEXT t;
  } params;
  CK_MECHANISM mech;
  CK_BYTE iv[16];
  CK_ULONG iv_len = mode == IV_HSM_APPEND ? 16 : 12;
  CK_BYTE *caller_iv = NULL;
  if (mode != IV_CALLER) {
    CK_GCM_PARAMS_240_TEXT *given = m->pParameter;
    caller_iv = given->pIv;
    if (mode == IV_HSM) {
      if (caller_iv == NULL || given->ulIvLen != 12) {
        event("gcm_iv refused: pIv must point to 12 bytes (ulIvLen=%lu)", given->ulIvLen);
        return CKR_MECHANISM_PARAM_INVALID;
      }
      if (zeroed) {
        static const CK_BYTE zero[12];
        if (memcmp(caller_iv, zero, 12) != 0) {
          event("gcm_iv refused: pIv is not zeroized");
          return CKR_MECHANISM_PARAM_INVALID;
        }
      }
    }
    if (getrandom(iv, iv_len, 0) != (ssize_t)iv_len) {
      return CKR_DEVICE_ERROR;
    }
    memcpy(&params, m->pParameter, m->ulParameterLen);
    params.t.pIv = iv;
    params.t.ulIvLen = iv_len;
    if (m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
      params.p.ulIvBits = iv_len * 8;
    }
    mech = *m;
    mech.pParameter = &params;
    m = &mech;
  }
  CK_RV rv = real->C_EncryptInit(h, m, key);

  char ivhex[33];
  pthread_mutex_lock(&lock);
  if (rv == CKR_OK && mode == IV_HSM && write != WRITE_ENCRYPT) {
    memcpy(caller_iv, iv, 12);
    hex(iv, 12, ivhex);
    event_locked("gcm_iv written at=C_EncryptInit session=%lu iv=%s", h, ivhex);
  }
  struct session *s = find_session_locked(h);
  if (s != NULL) {
    s->gcm_encrypt = rv == CKR_OK && is_gcm(m);
    s->append_iv = 0;
    s->iv_pending = 0;
    s->iv_dest = NULL;
    if (rv == CKR_OK && mode == IV_HSM_APPEND) {
      s->append_iv = 1;
      memcpy(s->iv, iv, 16);
    } else if (rv == CKR_OK && mode == IV_HSM) {
      memcpy(s->iv, iv, 12);
      if (write != WRITE_INIT) {
        s->iv_dest = caller_iv;
        memcpy(s->iv_seen, caller_iv, 12);
        s->iv_pending = 1;
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return rv;
}

/* What C_Encrypt / C_Decrypt need to know of the session's GCM operation, copied under the lock. */
struct gcm_state {
  int gcm;
  int append_iv;
  CK_BYTE iv[16];
  unsigned long max_data;
  CK_RV tag_error;
};

static void gcm_state(CK_SESSION_HANDLE h, int encrypt, struct gcm_state *g) {
  memset(g, 0, sizeof *g);
  pthread_mutex_lock(&lock);
  struct session *s = find_session_locked(h);
  if (s != NULL) {
    g->gcm = encrypt ? s->gcm_encrypt : s->gcm_decrypt;
    g->append_iv = encrypt && s->append_iv;
    memcpy(g->iv, s->iv, 16);
  }
  g->max_data = ctl.gcm_max_data;
  g->tag_error = ctl.gcm_tag_error;
  pthread_mutex_unlock(&lock);
}

/* The operation ended: forget its GCM state; with write=encrypt|probe, write or check the caller's pIv now. */
static void gcm_ended(CK_SESSION_HANDLE h, int encrypt, int succeeded) {
  char ivhex[33];
  pthread_mutex_lock(&lock);
  struct session *s = find_session_locked(h);
  if (s != NULL) {
    if (encrypt) {
      if (s->iv_pending && succeeded) {
        if (ctl.gcm_iv_write == WRITE_ENCRYPT) {
          /* as an HSM that writes late would: into whatever the pointer given at C_EncryptInit points to now */
          memcpy(s->iv_dest, s->iv, 12);
          hex(s->iv, 12, ivhex);
          event_locked("gcm_iv written at=C_Encrypt session=%lu iv=%s", h, ivhex);
        } else {
          int same = memcmp(s->iv_dest, s->iv_seen, 12) == 0;
          event_locked("gcm_iv probe at=C_Encrypt session=%lu pIv_unchanged=%d", h, same);
        }
      }
      s->gcm_encrypt = 0;
      s->append_iv = 0;
      s->iv_pending = 0;
      s->iv_dest = NULL;
    } else {
      s->gcm_decrypt = 0;
    }
  }
  pthread_mutex_unlock(&lock);
}

/* Ends the real operation after a refusal, by running it into a scratch buffer that is then wiped. */
static void finish_into_scratch(CK_SESSION_HANDLE h, int encrypt, CK_BYTE_PTR in, CK_ULONG in_len) {
  CK_ULONG n = 0;
  CK_RV rv = encrypt ? real->C_Encrypt(h, in, in_len, NULL, &n) : real->C_Decrypt(h, in, in_len, NULL, &n);
  if (rv != CKR_OK) {
    return;
  }
  CK_BYTE *scratch = malloc(n + 1);
  if (scratch == NULL) {
    return;
  }
  if (encrypt) {
    real->C_Encrypt(h, in, in_len, scratch, &n);
  } else {
    real->C_Decrypt(h, in, in_len, scratch, &n);
  }
  explicit_bzero(scratch, n + 1);
  free(scratch);
}

static int is_length_query_or_too_small(CK_RV rv, CK_BYTE_PTR out) {
  return out == NULL || rv == CKR_BUFFER_TOO_SMALL;
}

static CK_RV w_C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  struct decision d;
  /* a length query (out == NULL) is neither failed nor counted */
  decide(FN_C_Encrypt, KIND_H, h, CALL_FIRST | CHECK_REMOVAL | (out == NULL ? NO_RULES : 0), &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  struct gcm_state g;
  gcm_state(h, 1, &g);
  if (g.gcm && g.max_data > 0 && in_len > g.max_data) {
    event("gcm_max_data refused C_Encrypt len=%lu max=%lu", in_len, g.max_data);
    finish_into_scratch(h, 1, in, in_len);
    gcm_ended(h, 1, 0);
    return CKR_DATA_LEN_RANGE;
  }
  CK_RV rv;
  if (!g.append_iv) {
    rv = real->C_Encrypt(h, in, in_len, out, out_len);
  } else if (out_len == NULL) {
    rv = CKR_ARGUMENTS_BAD;
  } else if (out == NULL) {
    rv = real->C_Encrypt(h, in, in_len, NULL, out_len);
    if (rv == CKR_OK) {
      *out_len += 16;
    }
  } else if (*out_len < 16) {
    CK_ULONG need = 0;
    rv = real->C_Encrypt(h, in, in_len, NULL, &need);
    if (rv == CKR_OK) {
      *out_len = need + 16;
      rv = CKR_BUFFER_TOO_SMALL;
    }
  } else {
    /* Luna FIPS mode: ciphertext || tag || the 16-byte IV the HSM chose */
    CK_ULONG room = *out_len - 16;
    rv = real->C_Encrypt(h, in, in_len, out, &room);
    if (rv == CKR_OK) {
      memcpy(out + room, g.iv, 16);
      *out_len = room + 16;
      char ivhex[33];
      hex(g.iv, 16, ivhex);
      event("gcm_iv appended session=%lu iv=%s", h, ivhex);
    } else {
      *out_len = room + 16;
    }
  }
  if (is_length_query_or_too_small(rv, out)) {
    return rv;
  }
  gcm_ended(h, 1, rv == CKR_OK && d.injected == CKR_OK);
  if (d.injected != CKR_OK) {
    if (rv == CKR_OK && out != NULL) {
      explicit_bzero(out, *out_len);
    }
    return d.injected;
  }
  return rv;
}

static CK_RV w_C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) {
  struct decision d;
  decide(FN_C_DecryptInit, KIND_H, h, CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  if (m != NULL && hidden(m->mechanism)) {
    return CKR_MECHANISM_INVALID;
  }
  CK_RV rv = real->C_DecryptInit(h, m, key);
  pthread_mutex_lock(&lock);
  struct session *s = find_session_locked(h);
  if (s != NULL) {
    s->gcm_decrypt = rv == CKR_OK && is_gcm(m);
  }
  pthread_mutex_unlock(&lock);
  return rv;
}

static CK_RV w_C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  struct decision d;
  decide(FN_C_Decrypt, KIND_H, h, CALL_FIRST | CHECK_REMOVAL | (out == NULL ? NO_RULES : 0), &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  struct gcm_state g;
  gcm_state(h, 0, &g);
  if (g.gcm && g.max_data > 0 && in_len > g.max_data) {
    event("gcm_max_data refused C_Decrypt len=%lu max=%lu", in_len, g.max_data);
    finish_into_scratch(h, 0, in, in_len);
    gcm_ended(h, 0, 0);
    return CKR_ENCRYPTED_DATA_LEN_RANGE;
  }
  CK_RV rv = real->C_Decrypt(h, in, in_len, out, out_len);
  if (is_length_query_or_too_small(rv, out)) {
    return rv;
  }
  gcm_ended(h, 0, rv == CKR_OK);
  if (d.injected != CKR_OK) {
    if (rv == CKR_OK && out != NULL && out_len != NULL) {
      explicit_bzero(out, *out_len);
    }
    return d.injected;
  }
  if (g.gcm && rv == CKR_GENERAL_ERROR && g.tag_error != CKR_OK) {
    char name[40];
    event("gcm_tag_error rewritten to %s", ckr_name(g.tag_error, name, sizeof name));
    return g.tag_error;
  }
  return rv;
}

/* ---------------------------------------------------------------- other single-part functions */

static CK_RV w_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  struct decision d;
  decide(FN_C_Sign, KIND_H, h, CALL_FIRST | CHECK_REMOVAL | (out == NULL ? NO_RULES : 0), &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_Sign(h, in, in_len, out, out_len);
  if (is_length_query_or_too_small(rv, out) || d.injected == CKR_OK) {
    return rv;
  }
  if (rv == CKR_OK) {
    explicit_bzero(out, *out_len);
  }
  return d.injected;
}

static CK_RV w_C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  struct decision d;
  decide(FN_C_Digest, KIND_H, h, CALL_FIRST | CHECK_REMOVAL | (out == NULL ? NO_RULES : 0), &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_Digest(h, in, in_len, out, out_len);
  if (is_length_query_or_too_small(rv, out) || d.injected == CKR_OK) {
    return rv;
  }
  return d.injected;
}

static CK_RV w_C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len) {
  struct decision d;
  decide(FN_C_Verify, KIND_H, h, CALL_FIRST | CHECK_REMOVAL, &d);
  if (d.rv != CKR_OK) {
    return d.rv;
  }
  CK_RV rv = real->C_Verify(h, data, data_len, sig, sig_len);
  return d.injected != CKR_OK ? d.injected : rv;
}

/* ---------------------------------------------------------------- the function list */

static CK_FUNCTION_LIST module_list = {
    {2, 40},
#define KMSGW_LIST_ENTRY(name, params, args, kind, impl) w_##name,
    KMSGW_P11_FUNCTIONS(KMSGW_LIST_ENTRY)};

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  return w_C_GetFunctionList(out);
}
