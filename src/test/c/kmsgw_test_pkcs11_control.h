/*
 * The control state of kmsgw's PKCS#11 test module and its parser (kmsgw_test_pkcs11_control.c). The control file's
 * format is documented at the head of kmsgw_test_pkcs11.c and in docs/testing.md.
 */
#ifndef KMSGW_TEST_PKCS11_CONTROL_H
#define KMSGW_TEST_PKCS11_CONTROL_H

#include <stddef.h>

#include "kmsgw_pkcs11.h"

enum fn_index {
#define KMSGW_ENUM(name, params, args, kind, impl) FN_##name,
  KMSGW_P11_FUNCTIONS(KMSGW_ENUM) FN_COUNT
};

/* "C_Initialize", ... by enum fn_index */
extern const char *const FN_NAMES[FN_COUNT];

enum kind { KIND_N, KIND_S, KIND_H };

struct rule {
  int active;
  unsigned long value; /* CKR for fail., milliseconds for hang. */
  unsigned long from;
  unsigned long times;
  unsigned long count;
};

enum gcm_iv_mode { IV_CALLER, IV_HSM, IV_HSM_APPEND };
enum gcm_iv_write { WRITE_INIT, WRITE_ENCRYPT, WRITE_PROBE };

struct control {
  char target[512];
  char log[512];
  int gcm_iv;
  int gcm_iv_write;
  int gcm_iv_zeroed;
  unsigned long gcm_max_data;
  CK_RV gcm_tag_error; /* 0: unchanged */
  CK_RV read_only_error; /* 0: allowed */
  int pin_user_password;
  unsigned char unsupported[FN_COUNT];
  long max_sessions; /* -1: no limit */
  int private_copy;
  struct rule fail[FN_COUNT + 1]; /* [FN_COUNT]: fail.* */
  struct rule hang[FN_COUNT + 1];
  CK_MECHANISM_TYPE hidden[64]; /* hide_mechanisms: not listed, no info, refused by C_EncryptInit/C_DecryptInit */
  size_t hidden_count;
  char removed[33]; /* "" none, "*" all */
  CK_RV removed_ckr;
};


/* The defaults: plain forwarding, no limits, every token present, a private copy of the target. */
void control_defaults(struct control *c);

/*
 * Parses key=value lines (separated by '\n', and by ';' too if semicolons) into c, over what it holds; prints bad
 * lines on stderr, naming origin. Returns the number of bad lines. text is modified.
 */
int parse_control(struct control *c, char *text, int semicolons, const char *origin);

/* A CKR name (CKR_DEVICE_ERROR) or number (0x30, 48). Returns 0 if it is neither. */
int parse_ckr(const char *s, CK_RV *out);

/* The name of a CKR value, or its number in hex written into buf. */
const char *ckr_name(CK_RV rv, char *buf, size_t len);

/* A mechanism by name (CKM_AES_GCM, for those the gateway uses) or number (0x1087). Returns 0 if it is neither. */
int parse_mechanism(const char *s, CK_MECHANISM_TYPE *out);

/* The enum fn_index of a function name; FN_COUNT for "*"; -1 if unknown. */
int function_index(const char *name);

#endif
