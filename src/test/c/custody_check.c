/*
 * An outside judge of key custody: reads the custody attributes of a token's objects through the module's own
 * function list, in C, with nothing of the gateway (nor its JNI wrapper) in between. OpenSC's pkcs11-tool does the
 * same for SoftHSM2 but cannot load NSS's softoken, which needs its parameters in C_Initialize's pReserved; this
 * program passes them.
 *
 *   custody-check MODULE TOKEN_LABEL OBJECT_LABEL
 *   custody-check --mechanisms MODULE TOKEN_LABEL
 *
 * The crypto user's PIN is read from the first line of standard input (never an argument: arguments are visible to
 * every user of the machine). KMSGW_CUSTODY_INIT_ARGS, when set, is passed as CK_C_INITIALIZE_ARGS.pReserved (PKCS#11
 * v2.40 section 5.4, C_Initialize; NSS reads its "configdir='sql:DIR' ..." string from there).
 *
 * Output, one key=value per line on stdout: the return codes of the steps, "objects=N" for the objects whose
 * CKA_LABEL is exactly OBJECT_LABEL, then per object "object=I class=0x.." followed by CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE (each 0, 1, or "absent rv=0x.." when the
 * object has no such attribute, as public keys lack the last four) and "CKA_VALUE=readable" or "CKA_VALUE=refused
 * rv=0x..": a sensitive key's value must be refused (CKR_ATTRIBUTE_SENSITIVE). Exit status 0 when the objects could
 * be listed, 2 otherwise. The PIN is never printed.
 *
 * With --mechanisms it logs in to nothing and prints, for the token's slot, one "mechanism=0x.. flags=0x.." line per
 * entry of C_GetMechanismList with the flags of its C_GetMechanismInfo: what the gateway's own discovery must find.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmsgw_pkcs11.h"

/* PKCS#11 v2.40 section 3.6 (CK_C_INITIALIZE_ARGS) and 4.1 (attribute types); not needed by the test module */
typedef struct {
  CK_VOID_PTR CreateMutex;
  CK_VOID_PTR DestroyMutex;
  CK_VOID_PTR LockMutex;
  CK_VOID_PTR UnlockMutex;
  CK_FLAGS flags;
  CK_VOID_PTR pReserved;
} custody_init_args;

#define CUSTODY_CKA_VALUE 0x00000011UL
#define CUSTODY_CKA_PRIVATE 0x00000002UL
#define CUSTODY_CKA_EXTRACTABLE 0x00000162UL
#define CUSTODY_CKA_ALWAYS_SENSITIVE 0x00000165UL
#define CUSTODY_CKA_NEVER_EXTRACTABLE 0x00000164UL
#define CUSTODY_UNAVAILABLE ((CK_ULONG)-1)

/* PKCS#11 v2.40 section 3.5: opaque in the shared header, which only forwards it */
typedef struct {
  CK_ULONG ulMinKeySize;
  CK_ULONG ulMaxKeySize;
  CK_FLAGS flags;
} custody_mechanism_info;

static const struct {
  const char *name;
  CK_ATTRIBUTE_TYPE type;
} BOOLEANS[] = {
    {"CKA_TOKEN", CKA_TOKEN},
    {"CKA_PRIVATE", CUSTODY_CKA_PRIVATE},
    {"CKA_SENSITIVE", CKA_SENSITIVE},
    {"CKA_EXTRACTABLE", CUSTODY_CKA_EXTRACTABLE},
    {"CKA_ALWAYS_SENSITIVE", CUSTODY_CKA_ALWAYS_SENSITIVE},
    {"CKA_NEVER_EXTRACTABLE", CUSTODY_CKA_NEVER_EXTRACTABLE},
    /* what the object may be used for (PKCS#11 v2.40 section 4.7) */
    {"CKA_ENCRYPT", 0x104UL},
    {"CKA_DECRYPT", 0x105UL},
    {"CKA_WRAP", 0x106UL},
    {"CKA_UNWRAP", 0x107UL},
    {"CKA_SIGN", 0x108UL},
    {"CKA_VERIFY", 0x10AUL},
    {"CKA_DERIVE", 0x10CUL},
};

/* Whether the token hands out an attribute's value (or its length): sensitive values must be refused. */
static void print_readable(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, const char *name,
                           CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE v = {type, NULL, 0};
  CK_RV rv = f->C_GetAttributeValue(s, o, &v, 1);
  if (rv == CKR_OK && v.ulValueLen != CUSTODY_UNAVAILABLE) {
    printf("%s=readable\n", name);
  } else {
    printf("%s=refused rv=0x%lx\n", name, rv);
  }
}

/* One attribute per call, so that an attribute the object lacks does not hide the others. */
static void print_boolean(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, const char *name,
                          CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL value = 0xff;
  CK_ATTRIBUTE a = {type, &value, sizeof value};
  CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
  if (rv != CKR_OK || a.ulValueLen != sizeof value) {
    printf("%s=absent rv=0x%lx\n", name, rv);
  } else {
    printf("%s=%d\n", name, value == CK_TRUE ? 1 : value == CK_FALSE ? 0 : (int)value);
  }
}

static void print_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ULONG index) {
  CK_OBJECT_CLASS cls = CUSTODY_UNAVAILABLE;
  CK_ATTRIBUTE c = {CKA_CLASS, &cls, sizeof cls};
  f->C_GetAttributeValue(s, o, &c, 1);
  printf("object=%lu class=0x%lx\n", index, cls);
  for (size_t i = 0; i < sizeof BOOLEANS / sizeof BOOLEANS[0]; i++) {
    print_boolean(f, s, o, BOOLEANS[i].name, BOOLEANS[i].type);
  }
  CK_ULONG value_len = CUSTODY_UNAVAILABLE;
  CK_ATTRIBUTE len = {0x161UL /* CKA_VALUE_LEN */, &value_len, sizeof value_len};
  if (f->C_GetAttributeValue(s, o, &len, 1) == CKR_OK && len.ulValueLen == sizeof value_len) {
    printf("CKA_VALUE_LEN=%lu\n", value_len);
  }
  /* length queries: a module that answered with the length of a sensitive value would already say too much; an RSA
     private key's secret is its private exponent (and primes), an EC or secret key's its CKA_VALUE */
  print_readable(f, s, o, "CKA_VALUE", CUSTODY_CKA_VALUE);
  print_readable(f, s, o, "CKA_PRIVATE_EXPONENT", 0x123UL);
  print_readable(f, s, o, "CKA_PRIME_1", 0x124UL);
}

/* The first token whose blank-padded 32-byte label is exactly this one. */
static int find_slot(CK_FUNCTION_LIST_PTR f, const char *label, CK_SLOT_ID *out) {
  CK_ULONG n = 0;
  CK_RV rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
  CK_SLOT_ID *slots = calloc(n == 0 ? 1 : n, sizeof *slots);
  if (slots == NULL) {
    return 0;
  }
  rv = rv != CKR_OK ? rv : f->C_GetSlotList(CK_TRUE, slots, &n);
  printf("slot_list_rv=0x%lx\n", rv);
  size_t want = strlen(label);
  int found = 0;
  for (CK_ULONG i = 0; rv == CKR_OK && i < n && !found; i++) {
    CK_TOKEN_INFO info;
    if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK && want <= 32 && memcmp(info.label, label, want) == 0
        && (want == 32 || info.label[want] == ' ')) {
      *out = slots[i];
      found = 1;
    }
  }
  free(slots);
  return found;
}

static int print_mechanisms(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
  CK_ULONG n = 0;
  CK_RV rv = f->C_GetMechanismList(slot, NULL, &n);
  CK_MECHANISM_TYPE *types = calloc(n == 0 ? 1 : n, sizeof *types);
  if (types == NULL) {
    return 2;
  }
  rv = rv != CKR_OK ? rv : f->C_GetMechanismList(slot, types, &n);
  printf("mechanism_list_rv=0x%lx\nmechanisms=%lu\n", rv, rv == CKR_OK ? n : 0);
  for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
    custody_mechanism_info info = {0, 0, 0};
    CK_RV info_rv = f->C_GetMechanismInfo(slot, types[i], (CK_MECHANISM_INFO_PTR)&info);
    printf("mechanism=0x%lx flags=0x%lx info_rv=0x%lx\n", types[i], info.flags, info_rv);
  }
  free(types);
  printf("finalize_rv=0x%lx\n", f->C_Finalize(NULL));
  return rv == CKR_OK ? 0 : 2;
}

static int read_pin(char *pin, size_t size) {
  if (fgets(pin, (int)size, stdin) == NULL) {
    return 0;
  }
  pin[strcspn(pin, "\r\n")] = '\0';
  return 1;
}

int main(int argc, char **argv) {
  int mechanisms = argc == 4 && strcmp(argv[1], "--mechanisms") == 0;
  if (argc != 4) {
    fprintf(stderr, "usage: custody-check MODULE TOKEN_LABEL OBJECT_LABEL (PIN on stdin)\n"
                    "       custody-check --mechanisms MODULE TOKEN_LABEL\n");
    return 2;
  }
  if (mechanisms) {
    argv++;
  }
  char pin[256] = "";
  if (!mechanisms && !read_pin(pin, sizeof pin)) {
    fprintf(stderr, "custody-check: no PIN on standard input\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  CK_C_GetFunctionList get = lib == NULL ? NULL : (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR f = NULL;
  if (get == NULL || get(&f) != CKR_OK) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], lib == NULL ? dlerror() : "no C_GetFunctionList");
    return 2;
  }
  const char *params = getenv("KMSGW_CUSTODY_INIT_ARGS");
  custody_init_args init = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, (CK_VOID_PTR)params};
  CK_RV rv = f->C_Initialize(params != NULL && *params != '\0' ? &init : NULL);
  printf("initialize_rv=0x%lx\n", rv);
  CK_SLOT_ID slot;
  if (rv != CKR_OK || !find_slot(f, argv[2], &slot)) {
    fprintf(stderr, "custody-check: no token labelled %s\n", argv[2]);
    return 2;
  }
  if (mechanisms) {
    return print_mechanisms(f, slot);
  }
  CK_SESSION_HANDLE s;
  rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
  printf("open_session_rv=0x%lx\n", rv);
  if (rv != CKR_OK) {
    return 2;
  }
  rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
  memset(pin, 0, sizeof pin);
  printf("login_rv=0x%lx\n", rv);
  if (rv != CKR_OK) {
    return 2;
  }
  CK_ATTRIBUTE by_label = {CKA_LABEL, argv[3], strlen(argv[3])};
  rv = f->C_FindObjectsInit(s, &by_label, 1);
  CK_OBJECT_HANDLE found[64];
  CK_ULONG n = 0;
  if (rv == CKR_OK) {
    rv = f->C_FindObjects(s, found, sizeof found / sizeof found[0], &n);
    f->C_FindObjectsFinal(s);
  }
  printf("find_rv=0x%lx\nobjects=%lu\n", rv, n);
  for (CK_ULONG i = 0; i < n; i++) {
    print_object(f, s, found[i], i);
  }
  f->C_Logout(s);
  f->C_CloseSession(s);
  printf("finalize_rv=0x%lx\n", f->C_Finalize(NULL));
  return rv == CKR_OK ? 0 : 2;
}
