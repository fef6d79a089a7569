package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PRIVATE_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PUBLIC_KEY;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/**
 * Runs one PKCS#11 call on a key object's cached handle, on one borrowed session: a secret key (or its session
 * copy), or the private or public half of a key pair. A cached handle that turned out stale (the object was
 * destroyed and made again, or the token forgot it) is looked up again once; every failure goes through the one
 * CKR mapping.
 */
final class ObjectCalls {
  /** A call on a handle. */
  @FunctionalInterface
  interface HandleCall<T> {
    T apply(long handle) throws PKCS11Exception;
  }

  private final Session session;
  private final CkrMapping ckr;
  private final KeyHandles handles;

  ObjectCalls(Session session, CkrMapping ckr, KeyHandles handles) {
    this.session = session;
    this.ckr = ckr;
    this.handles = handles;
  }

  Session session() {
    return session;
  }

  CkrMapping ckr() {
    return ckr;
  }

  /** A call with a CMK version's secret key (AES, HMAC). */
  <T> T withSecretKey(HsmKey key, Call call, HandleCall<T> fn) throws HsmException {
    for (int attempt = 0; ; attempt++) {
      long handle = handles.forCrypto(session, key);
      try {
        return fn.apply(handle);
      } catch (PKCS11Exception e) {
        HsmException mapped = ckr.map(e, call, call + " failed with key " + key.label());
        if (retry(mapped, attempt)) {
          handles.stale(key, handle);
          continue;
        }
        throw mapped;
      }
    }
  }

  /** A call with the private half of a key pair (sign, decrypt, derive). */
  <T> T withPrivateKey(HsmKey key, Call call, HandleCall<T> fn) throws HsmException {
    return withHalf(key, CKO_PRIVATE_KEY, call, fn);
  }

  /** A call with the public half of a key pair (verify, reading the public key). */
  <T> T withPublicKey(HsmKey key, Call call, HandleCall<T> fn) throws HsmException {
    return withHalf(key, CKO_PUBLIC_KEY, call, fn);
  }

  private <T> T withHalf(HsmKey key, long objectClass, Call call, HandleCall<T> fn) throws HsmException {
    for (int attempt = 0; ; attempt++) {
      long handle = handles.keyPairHalf(session, key, objectClass);
      try {
        return fn.apply(handle);
      } catch (PKCS11Exception e) {
        HsmException mapped = ckr.map(e, call, call + " failed with key " + key.label());
        if (retry(mapped, attempt)) {
          handles.staleHalf(key, objectClass, handle);
          continue;
        }
        throw mapped;
      }
    }
  }

  /** A cached handle that no longer names the object is looked up once more. */
  private static boolean retry(HsmException mapped, int attempt) {
    return attempt == 0
        && (mapped.kind() == HsmErrorKind.STALE_HANDLE || mapped.kind() == HsmErrorKind.KEY_NOT_FOUND);
  }
}
