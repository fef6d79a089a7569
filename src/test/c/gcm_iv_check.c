/*
 * An independent check of kmsgw's PKCS#11 test module, in C, so that nothing between it and the module copies or
 * frees CK_GCM_PARAMS: it keeps the IV buffer alive from C_EncryptInit to C_Decrypt, as the AWS CloudHSM
 * documentation expects of a caller, and reports what happened as key=value lines on stdout.
 *
 *   gcm-iv-check MODULE TOKEN_LABEL PIN
 *
 * Steps: find the token by label, open a read-write session, log in as the crypto user, generate an AES-256 session
 * key, encrypt 18 bytes with AES-GCM and a zeroed 12-byte IV (reporting the IV buffer after C_EncryptInit and after
 * C_Encrypt), decrypt with the IV that was actually used (the buffer's, or the 16 bytes appended to the ciphertext
 * when there are 16 more bytes than ciphertext and tag), decrypt a ciphertext with a flipped tag bit, encrypt 16385
 * bytes, encrypt once more on the same session, and open a read-only session. Exit status 0 when it got to the end.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmsgw_pkcs11.h"

static void print_hex(const char *key, const CK_BYTE *b, CK_ULONG n) {
  printf("%s=", key);
  for (CK_ULONG i = 0; i < n; i++) {
    printf("%02x", b[i]);
  }
  printf("\n");
}

static CK_RV gcm_encrypt(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_BYTE *iv,
                         const CK_BYTE *pt, CK_ULONG pt_len, CK_BYTE *out, CK_ULONG *out_len, int report) {
  static CK_BYTE aad[] = "aad";
  CK_GCM_PARAMS p = {iv, 12, 96, aad, 3, 128};
  CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof p};
  CK_RV rv = f->C_EncryptInit(s, &m, key);
  if (report) {
    printf("encrypt_init_rv=0x%lx\n", rv);
    print_hex("iv_after_init", iv, 12);
  }
  if (rv != CKR_OK) {
    return rv;
  }
  CK_ULONG need = 0;
  rv = f->C_Encrypt(s, (CK_BYTE_PTR)pt, pt_len, NULL, &need);
  if (rv != CKR_OK || need > *out_len) {
    return rv != CKR_OK ? rv : CKR_BUFFER_TOO_SMALL;
  }
  rv = f->C_Encrypt(s, (CK_BYTE_PTR)pt, pt_len, out, out_len);
  if (report) {
    printf("encrypt_rv=0x%lx\n", rv);
    print_hex("iv_after_encrypt", iv, 12);
    printf("ciphertext_len=%lu\n", *out_len);
  }
  return rv;
}

static CK_RV gcm_decrypt(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_BYTE *iv,
                         CK_ULONG iv_len, CK_BYTE *ct, CK_ULONG ct_len, CK_BYTE *out, CK_ULONG *out_len) {
  static CK_BYTE aad[] = "aad";
  CK_GCM_PARAMS p = {iv, iv_len, iv_len * 8, aad, 3, 128};
  CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof p};
  CK_RV rv = f->C_DecryptInit(s, &m, key);
  if (rv != CKR_OK) {
    return rv;
  }
  return f->C_Decrypt(s, ct, ct_len, out, out_len);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: gcm-iv-check MODULE TOKEN_LABEL PIN\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  CK_C_GetFunctionList get = lib == NULL ? NULL : (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR f = NULL;
  if (get == NULL || get(&f) != CKR_OK) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], lib == NULL ? dlerror() : "no C_GetFunctionList");
    return 2;
  }
  CK_RV rv = f->C_Initialize(NULL);
  printf("initialize_rv=0x%lx\n", rv);
  /* sized by the module: a test run's token directory can hold more than any fixed number of tokens */
  CK_ULONG n = 0;
  rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
  CK_SLOT_ID *slots = calloc(n == 0 ? 1 : n, sizeof *slots);
  if (slots == NULL) {
    return 2;
  }
  rv = rv != CKR_OK ? rv : f->C_GetSlotList(CK_TRUE, slots, &n);
  CK_SLOT_ID slot = 0;
  int found = 0;
  size_t want = strlen(argv[2]);
  for (CK_ULONG i = 0; rv == CKR_OK && i < n && !found; i++) {
    CK_TOKEN_INFO info;
    if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK && want <= 32 && memcmp(info.label, argv[2], want) == 0
        && (want == 32 || info.label[want] == ' ')) {
      slot = slots[i];
      found = 1;
    }
  }
  if (!found) {
    fprintf(stderr, "no token labelled %s (C_GetSlotList 0x%lx)\n", argv[2], rv);
    return 2;
  }
  CK_SESSION_HANDLE s;
  rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
  printf("open_session_rv=0x%lx\n", rv);
  rv = rv != CKR_OK ? rv : f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[3], strlen(argv[3]));
  printf("login_rv=0x%lx\n", rv);
  if (rv != CKR_OK) {
    return 2;
  }
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ULONG len = 32;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &no, sizeof no},
      {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_ENCRYPT, &yes, sizeof yes}, {CKA_DECRYPT, &yes, sizeof yes},
      {CKA_VALUE_LEN, &len, sizeof len},
  };
  CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
  CK_OBJECT_HANDLE key;
  rv = f->C_GenerateKey(s, &gen, tmpl, sizeof tmpl / sizeof tmpl[0], &key);
  printf("generate_key_rv=0x%lx\n", rv);
  if (rv != CKR_OK) {
    return 2;
  }

  static const CK_BYTE pt[] = "kmsgw gcm iv check";
  const CK_ULONG pt_len = sizeof pt - 1;
  CK_BYTE iv[16] = {0};
  CK_BYTE ct[128];
  CK_ULONG ct_len = sizeof ct;
  rv = gcm_encrypt(f, s, key, iv, pt, pt_len, ct, &ct_len, 1);
  if (rv == CKR_OK) {
    CK_BYTE *used = iv;
    CK_ULONG used_len = 12;
    if (ct_len == pt_len + 16 + 16) {
      used = ct + ct_len - 16;
      used_len = 16;
      ct_len -= 16;
      print_hex("iv_appended", used, 16);
    }
    CK_BYTE back[128];
    CK_ULONG back_len = sizeof back;
    rv = gcm_decrypt(f, s, key, used, used_len, ct, ct_len, back, &back_len);
    printf("decrypt_rv=0x%lx\n", rv);
    printf("roundtrip=%d\n", rv == CKR_OK && back_len == pt_len && memcmp(back, pt, pt_len) == 0);
    ct[ct_len - 1] ^= 1;
    back_len = sizeof back;
    rv = gcm_decrypt(f, s, key, used, used_len, ct, ct_len, back, &back_len);
    printf("tag_mismatch_rv=0x%lx\n", rv);
  }

  static CK_BYTE big[16385];
  static CK_BYTE big_out[16385 + 64];
  CK_ULONG big_len = sizeof big_out;
  memset(iv, 0, sizeof iv);
  rv = gcm_encrypt(f, s, key, iv, big, sizeof big, big_out, &big_len, 0);
  printf("big_encrypt_rv=0x%lx\n", rv);
  memset(iv, 0, sizeof iv);
  ct_len = sizeof ct;
  rv = gcm_encrypt(f, s, key, iv, pt, pt_len, ct, &ct_len, 0);
  printf("after_big_encrypt_rv=0x%lx\n", rv);

  CK_SESSION_HANDLE ro;
  rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
  printf("read_only_open_rv=0x%lx\n", rv);
  if (rv == CKR_OK) {
    f->C_CloseSession(ro);
  }
  f->C_Logout(s);
  f->C_CloseSession(s);
  printf("finalize_rv=0x%lx\n", f->C_Finalize(NULL));
  return 0;
}
