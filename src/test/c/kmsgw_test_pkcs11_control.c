/*
 * The control file's parser for kmsgw's PKCS#11 test module: keys, vendor presets (with the vendor documents they
 * follow), fail./hang. rules. The format is documented at the head of kmsgw_test_pkcs11.c and in docs/testing.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmsgw_test_pkcs11_control.h"

const char *const FN_NAMES[FN_COUNT] = {
#define KMSGW_NAME(name, params, args, kind, impl) #name,
    KMSGW_P11_FUNCTIONS(KMSGW_NAME)};

static const struct {
  const char *name;
  CK_RV value;
} CKR_NAMES[] = {
    {"CKR_OK", CKR_OK},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
    {"CKR_DATA_INVALID", CKR_DATA_INVALID},
    {"CKR_DATA_LEN_RANGE", CKR_DATA_LEN_RANGE},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_ENCRYPTED_DATA_INVALID", CKR_ENCRYPTED_DATA_INVALID},
    {"CKR_ENCRYPTED_DATA_LEN_RANGE", CKR_ENCRYPTED_DATA_LEN_RANGE},
    {"CKR_AEAD_DECRYPT_FAILED", CKR_AEAD_DECRYPT_FAILED},
    {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
    {"CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
    {"CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED},
    {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
    {"CKR_MECHANISM_PARAM_INVALID", CKR_MECHANISM_PARAM_INVALID},
    {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
    {"CKR_OPERATION_NOT_INITIALIZED", CKR_OPERATION_NOT_INITIALIZED},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_INVALID", CKR_PIN_INVALID},
    {"CKR_PIN_LEN_RANGE", CKR_PIN_LEN_RANGE},
    {"CKR_PIN_EXPIRED", CKR_PIN_EXPIRED},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_SESSION_READ_ONLY", CKR_SESSION_READ_ONLY},
    {"CKR_SIGNATURE_INVALID", CKR_SIGNATURE_INVALID},
    {"CKR_TEMPLATE_INCOMPLETE", CKR_TEMPLATE_INCOMPLETE},
    {"CKR_TEMPLATE_INCONSISTENT", CKR_TEMPLATE_INCONSISTENT},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED},
    {"CKR_USER_ALREADY_LOGGED_IN", CKR_USER_ALREADY_LOGGED_IN},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_USER_PIN_NOT_INITIALIZED", CKR_USER_PIN_NOT_INITIALIZED},
    {"CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL},
    {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
    {"CKR_CRYPTOKI_ALREADY_INITIALIZED", CKR_CRYPTOKI_ALREADY_INITIALIZED},
};

int parse_ckr(const char *s, CK_RV *out) {
  for (size_t i = 0; i < sizeof CKR_NAMES / sizeof CKR_NAMES[0]; i++) {
    if (strcmp(s, CKR_NAMES[i].name) == 0) {
      *out = CKR_NAMES[i].value;
      return 1;
    }
  }
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = v;
  return 1;
}

const char *ckr_name(CK_RV rv, char *buf, size_t len) {
  for (size_t i = 0; i < sizeof CKR_NAMES / sizeof CKR_NAMES[0]; i++) {
    if (CKR_NAMES[i].value == rv) {
      return CKR_NAMES[i].name;
    }
  }
  snprintf(buf, len, "0x%lx", rv);
  return buf;
}

int function_index(const char *name) {
  for (int i = 0; i < FN_COUNT; i++) {
    if (strcmp(FN_NAMES[i], name) == 0) {
      return i;
    }
  }
  return strcmp(name, "*") == 0 ? FN_COUNT : -1;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r') {
    s++;
  }
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
    s[--n] = '\0';
  }
  return s;
}

static void apply_vendor(struct control *c, const char *vendor, int *ok) {
  if (strcmp(vendor, "cloudhsm") == 0) {
    /*
     * AWS CloudHSM Client SDK 5, PKCS#11 library:
     * - "When performing AES-GCM encryption, the HSM does not accept initialization vector (IV) data from the
     *   application. It is required to use an IV that it generates. The 12-byte IV provided by the HSM is written into
     *   the memory reference pointed to by the pIV element of the CK_GCM_PARAMS parameters structure that you supply.
     *   [...] PKCS#11 SDK in version 1.1.1 and later enforce that pIV points to a zeroized buffer when AES-GCM
     *   encryption is initialized." (AWS CloudHSM User Guide, "Supported mechanisms" for the PKCS #11 library,
     *   https://docs.aws.amazon.com/cloudhsm/latest/userguide/pkcs11-mechanisms.html)
     * - "Buffers for the C_Encrypt and C_Decrypt API operations cannot exceed 16 KB when using the CKM_AES_GCM
     *   mechanism" and "SDK 5 does not support opening Read-Only sessions with C_OpenSession [...] the call will fail
     *   with the error CKR_FUNCTION_FAILED" (AWS CloudHSM User Guide, "Known issues for the PKCS #11 library",
     *   https://docs.aws.amazon.com/cloudhsm/latest/userguide/ki-pkcs11-sdk.html). The code for a too-large GCM
     *   buffer is not documented: CKR_DATA_LEN_RANGE / CKR_ENCRYPTED_DATA_LEN_RANGE are this module's choice.
     * - the PIN is "<HSM_user_name>:<password>" (AWS CloudHSM User Guide, "Authenticate to the PKCS #11 library",
     *   https://docs.aws.amazon.com/cloudhsm/latest/userguide/pkcs11-pin.html)
     * - C_CopyObject is not among the SDK 5 library's supported API operations (AWS CloudHSM User Guide, "Supported
     *   API operations", https://docs.aws.amazon.com/cloudhsm/latest/userguide/pkcs11-apis.html)
     * - the tag-mismatch code is not documented; kmsgw's profile (hsm-config/cloudhsm.yaml) assumes the standard
     *   CKR_ENCRYPTED_DATA_INVALID, so that is what the module answers instead of SoftHSM2's CKR_GENERAL_ERROR.
     */
    c->gcm_iv = IV_HSM;
    c->gcm_iv_write = WRITE_INIT;
    c->gcm_iv_zeroed = 1;
    c->gcm_max_data = 16384;
    c->read_only_error = CKR_FUNCTION_FAILED;
    c->pin_user_password = 1;
    c->unsupported[FN_C_CopyObject] = 1;
    c->gcm_tag_error = CKR_ENCRYPTED_DATA_INVALID;
  } else if (strcmp(vendor, "luna-fips") == 0) {
    /*
     * Thales Luna 7 with HSM policy 12 ("Allow non-FIPS algorithms") off: "the initialization vector (IV) is
     * generated in the HSM and returned to the PKCS#11 function call. The buffer must be large enough to store the
     * GMAC tag plus the generated IV (which has a length of 16 bytes). [...] The IV generated by the HSM is
     * concatenated at the end -- to determine the IV, find the last 16 bytes of the encrypted data." (Thales Luna 7
     * SDK reference, mechanism CKM_AES_GCM,
     * https://thalesdocs.com/gphsm/luna/7/docs/network/Content/sdk/mechanisms/CKM_AES_GCM.htm)
     */
    c->gcm_iv = IV_HSM_APPEND;
    c->gcm_tag_error = CKR_ENCRYPTED_DATA_INVALID;
  } else if (strcmp(vendor, "softhsm") == 0) {
    c->gcm_iv = IV_CALLER;
  } else {
    *ok = 0;
  }
}

static int parse_rule(char *value, struct rule *r, int is_fail) {
  char *save = NULL;
  char *first = strtok_r(value, " \t", &save);
  if (first == NULL) {
    return 0;
  }
  memset(r, 0, sizeof *r);
  r->from = 1;
  if (is_fail) {
    CK_RV rv;
    if (!parse_ckr(first, &rv)) {
      return 0;
    }
    r->value = rv;
  } else {
    char *end;
    r->value = strtoul(first, &end, 10);
    if (*end != '\0') {
      return 0;
    }
  }
  for (char *opt; (opt = strtok_r(NULL, " \t", &save)) != NULL;) {
    char *end;
    if (strncmp(opt, "from=", 5) == 0) {
      r->from = strtoul(opt + 5, &end, 10);
    } else if (strncmp(opt, "times=", 6) == 0) {
      r->times = strtoul(opt + 6, &end, 10);
    } else {
      return 0;
    }
    if (*end != '\0') {
      return 0;
    }
  }
  if (r->from == 0) {
    r->from = 1;
  }
  r->active = 1;
  return 1;
}

/* Parses lines (separated by '\n' or, if semicolons, also ';') into c. Returns the number of bad lines. */
/* The mechanisms the gateway asks for, by name; any other by number (0x1087). */
static const struct {
  const char *name;
  CK_MECHANISM_TYPE type;
} MECHANISM_NAMES[] = {
    {"CKM_RSA_PKCS_KEY_PAIR_GEN", 0x0}, {"CKM_RSA_PKCS", 0x1}, {"CKM_RSA_PKCS_OAEP", 0x9},
    {"CKM_RSA_PKCS_PSS", 0xD}, {"CKM_SHA256_HMAC", 0x251}, {"CKM_SHA224_HMAC", 0x256},
    {"CKM_SHA384_HMAC", 0x261}, {"CKM_SHA512_HMAC", 0x271}, {"CKM_GENERIC_SECRET_KEY_GEN", 0x350},
    {"CKM_EC_KEY_PAIR_GEN", 0x1040}, {"CKM_ECDSA", 0x1041}, {"CKM_ECDSA_SHA256", 0x1044},
    {"CKM_ECDH1_DERIVE", 0x1050}, {"CKM_EC_EDWARDS_KEY_PAIR_GEN", 0x1055}, {"CKM_EDDSA", 0x1057},
    {"CKM_AES_KEY_GEN", 0x1080}, {"CKM_AES_GCM", 0x1087}, {"CKM_AES_KEY_WRAP", 0x2109},
    {"CKM_AES_KEY_WRAP_PAD", 0x210A},
};

int parse_mechanism(const char *s, CK_MECHANISM_TYPE *out) {
  for (size_t i = 0; i < sizeof MECHANISM_NAMES / sizeof MECHANISM_NAMES[0]; i++) {
    if (strcmp(s, MECHANISM_NAMES[i].name) == 0) {
      *out = MECHANISM_NAMES[i].type;
      return 1;
    }
  }
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 0);
  if (*s == '\0' || *end != '\0' || errno != 0 || *s == '-') {
    return 0;
  }
  *out = v;
  return 1;
}

int parse_control(struct control *c, char *text, int semicolons, const char *origin) {
  int bad = 0;
  int line_no = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, semicolons ? ";\n" : "\n", &save); line != NULL;
       line = strtok_r(NULL, semicolons ? ";\n" : "\n", &save)) {
    line_no++;
    char *l = trim(line);
    if (*l == '\0' || *l == '#') {
      continue;
    }
    char *eq = strchr(l, '=');
    if (eq == NULL) {
      fprintf(stderr, "kmsgw-test-pkcs11: %s line %d: no '=': %s\n", origin, line_no, l);
      bad++;
      continue;
    }
    *eq = '\0';
    char *key = trim(l);
    char *value = trim(eq + 1);
    int ok = 1;
    CK_RV rv;
    if (strcmp(key, "target") == 0) {
      snprintf(c->target, sizeof c->target, "%s", value);
    } else if (strcmp(key, "log") == 0) {
      snprintf(c->log, sizeof c->log, "%s", value);
    } else if (strcmp(key, "vendor") == 0) {
      apply_vendor(c, value, &ok);
    } else if (strcmp(key, "gcm_iv") == 0) {
      if (strcmp(value, "caller") == 0) {
        c->gcm_iv = IV_CALLER;
      } else if (strcmp(value, "hsm") == 0) {
        c->gcm_iv = IV_HSM;
      } else if (strcmp(value, "hsm-append") == 0) {
        c->gcm_iv = IV_HSM_APPEND;
      } else {
        ok = 0;
      }
    } else if (strcmp(key, "gcm_iv_write") == 0) {
      if (strcmp(value, "init") == 0) {
        c->gcm_iv_write = WRITE_INIT;
      } else if (strcmp(value, "encrypt") == 0) {
        c->gcm_iv_write = WRITE_ENCRYPT;
      } else if (strcmp(value, "probe") == 0) {
        c->gcm_iv_write = WRITE_PROBE;
      } else {
        ok = 0;
      }
    } else if (strcmp(key, "gcm_iv_zeroed") == 0) {
      c->gcm_iv_zeroed = strcmp(value, "1") == 0 || strcmp(value, "true") == 0;
    } else if (strcmp(key, "gcm_max_data") == 0) {
      c->gcm_max_data = strtoul(value, NULL, 10);
    } else if (strcmp(key, "gcm_tag_error") == 0) {
      if (*value == '\0') {
        c->gcm_tag_error = 0;
      } else if (parse_ckr(value, &rv)) {
        c->gcm_tag_error = rv;
      } else {
        ok = 0;
      }
    } else if (strcmp(key, "read_only_sessions") == 0) {
      if (strcmp(value, "allow") == 0 || *value == '\0') {
        c->read_only_error = 0;
      } else if (parse_ckr(value, &rv)) {
        c->read_only_error = rv;
      } else {
        ok = 0;
      }
    } else if (strcmp(key, "pin") == 0) {
      if (strcmp(value, "plain") == 0) {
        c->pin_user_password = 0;
      } else if (strcmp(value, "user:password") == 0) {
        c->pin_user_password = 1;
      } else {
        ok = 0;
      }
    } else if (strcmp(key, "unsupported") == 0) {
      memset(c->unsupported, 0, sizeof c->unsupported);
      char *s2 = NULL;
      for (char *f = strtok_r(value, ", ", &s2); f != NULL; f = strtok_r(NULL, ", ", &s2)) {
        int i = function_index(f);
        if (i < 0 || i == FN_COUNT || i == FN_C_GetFunctionList || i == FN_C_Initialize) {
          ok = 0;
        } else {
          c->unsupported[i] = 1;
        }
      }
    } else if (strcmp(key, "hide_mechanisms") == 0) {
      c->hidden_count = 0;
      char *s3 = NULL;
      for (char *f = strtok_r(value, ", ", &s3); f != NULL; f = strtok_r(NULL, ", ", &s3)) {
        CK_MECHANISM_TYPE t;
        if (!parse_mechanism(f, &t) || c->hidden_count == sizeof c->hidden / sizeof c->hidden[0]) {
          ok = 0;
        } else {
          c->hidden[c->hidden_count++] = t;
        }
      }
    } else if (strcmp(key, "max_sessions") == 0) {
      char *end;
      c->max_sessions = *value == '\0' ? -1 : strtol(value, &end, 10);
      ok = *value == '\0' || (*end == '\0' && c->max_sessions >= 0);
    } else if (strcmp(key, "private_copy") == 0) {
      c->private_copy = strcmp(value, "0") != 0 && strcmp(value, "false") != 0;
    } else if (strncmp(key, "fail.", 5) == 0 || strncmp(key, "hang.", 5) == 0) {
      int is_fail = key[0] == 'f';
      int i = function_index(key + 5);
      if (i < 0) {
        ok = 0;
      } else if (*value == '\0') {
        (is_fail ? c->fail : c->hang)[i].active = 0;
      } else {
        ok = parse_rule(value, &(is_fail ? c->fail : c->hang)[i], is_fail);
      }
    } else if (strcmp(key, "token_removed") == 0) {
      snprintf(c->removed, sizeof c->removed, "%s", value);
    } else if (strcmp(key, "token_removed_ckr") == 0) {
      ok = parse_ckr(value, &c->removed_ckr);
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "kmsgw-test-pkcs11: %s line %d: bad entry for '%s'\n", origin, line_no, key);
      bad++;
    }
  }
  return bad;
}

void control_defaults(struct control *c) {
  memset(c, 0, sizeof *c);
  c->removed_ckr = CKR_DEVICE_REMOVED;
  c->max_sessions = -1;
  c->private_copy = 1;
}
