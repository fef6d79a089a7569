package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PRIVATE_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PUBLIC_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.util.concurrent.ConcurrentHashMap;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/**
 * The object handles crypto calls use, cached per connection so that a steady-state call makes no
 * {@code C_FindObjects}. Object handles are valid in every session of the application (PKCS#11 v2.40 §2.4).
 *
 * <p>With {@code sessionCopies}, the handle is that of a session-object copy of the token key
 * ({@code C_CopyObject} with {@code CKA_TOKEN=false}), made once on the connection's anchor session. The copy stays
 * inside the HSM and keeps {@code CKA_SENSITIVE=true} and {@code CKA_EXTRACTABLE=false} (C_CopyObject can only
 * strengthen those); it disappears when the connection closes. SoftHSM2 runs AES-GCM about twice as fast on such a
 * copy, and the cost no longer grows with the number of token objects, because its file-backed token objects are
 * re-checked on every use.
 */
final class KeyHandles {
  private final boolean sessionCopies;
  private final Session anchor;
  private final CkrMapping ckr;
  private final Pkcs11Counters counters;
  private final ConcurrentHashMap<HsmKey, Long> handles = new ConcurrentHashMap<>();

  KeyHandles(boolean sessionCopies, Session anchor, CkrMapping ckr, Pkcs11Counters counters) {
    this.sessionCopies = sessionCopies;
    this.anchor = anchor;
    this.ckr = ckr;
    this.counters = counters;
  }

  /** The handle to encrypt and decrypt with. */
  long forCrypto(Session session, HsmKey key) throws HsmException {
    Long cached = handles.get(key);
    if (cached != null) {
      return cached;
    }
    long token = tokenObject(session, key);
    long handle = sessionCopies ? copy(token, key) : token;
    Long raced = handles.putIfAbsent(key, handle);
    if (raced != null && sessionCopies) {
      destroyCopy(handle);
      return raced;
    }
    return raced != null ? raced : handle;
  }

  /** Remembers a token object just generated (copying it now), so its first use finds nothing. */
  void generated(HsmKey key, long tokenHandle) throws HsmException {
    handles.put(key, sessionCopies ? copy(tokenHandle, key) : tokenHandle);
  }

  /** The halves of key pairs, by label and id: token object handles, never copied (private keys stay put). */
  private final ConcurrentHashMap<HsmKey, Long> privateKeys = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<HsmKey, Long> publicKeys = new ConcurrentHashMap<>();

  private ConcurrentHashMap<HsmKey, Long> halves(long objectClass) {
    if (objectClass == CKO_PRIVATE_KEY) {
      return privateKeys;
    }
    if (objectClass == CKO_PUBLIC_KEY) {
      return publicKeys;
    }
    throw new IllegalArgumentException("not a key pair half: class " + objectClass);
  }

  /**
   * The handle of the private ({@code CKO_PRIVATE_KEY}) or public ({@code CKO_PUBLIC_KEY}) half of a key pair,
   * cached per connection: no C_FindObjects per operation in steady state.
   */
  long keyPairHalf(Session session, HsmKey key, long objectClass) throws HsmException {
    ConcurrentHashMap<HsmKey, Long> cache = halves(objectClass);
    Long cached = cache.get(key);
    if (cached != null) {
      return cached;
    }
    long[] found = findTokenObjects(session, key, objectClass);
    if (found.length == 0) {
      throw new HsmException(HsmErrorKind.KEY_NOT_FOUND, (objectClass == CKO_PRIVATE_KEY ? "private" : "public")
          + " key object " + key.label() + " is not in the token");
    }
    cache.put(key, found[0]);
    return found[0];
  }

  /** Remembers the halves of a key pair just generated. */
  void generatedPair(HsmKey key, long privateHandle, long publicHandle) {
    privateKeys.put(key, privateHandle);
    publicKeys.put(key, publicHandle);
  }

  /** Forgets a key pair half's handle that turned out stale. */
  void staleHalf(HsmKey key, long objectClass, long handle) {
    halves(objectClass).remove(key, handle);
  }

  /** Forgets a handle that turned out stale. */
  void stale(HsmKey key, long handle) {
    handles.remove(key, handle);
  }

  /** Forgets a key about to be destroyed, destroying its copy. */
  void forget(HsmKey key) {
    privateKeys.remove(key);
    publicKeys.remove(key);
    Long h = handles.remove(key);
    if (h != null && sessionCopies) {
      destroyCopy(h);
    }
  }

  void clear() {
    handles.clear();
    privateKeys.clear();
    publicKeys.clear();
  }

  int size() {
    return handles.size();
  }

  /** The token object's handle, looked up by class, CKA_TOKEN, label and id. */
  long tokenObject(Session session, HsmKey key) throws HsmException {
    long[] found = findTokenObjects(session, key);
    if (found.length == 0) {
      throw new HsmException(HsmErrorKind.KEY_NOT_FOUND, "key object " + key.label() + " is not in the token");
    }
    return found[0];
  }

  /** The secret-key token objects with the key's label and id. */
  long[] findTokenObjects(Session session, HsmKey key) throws HsmException {
    return findTokenObjects(session, key, CKO_SECRET_KEY);
  }

  /** Every token object of the key, whatever its class: a CMK version's secret key, or both halves of a pair. */
  long[] findAllTokenObjects(Session session, HsmKey key) throws HsmException {
    return find(session, key, new AttributeVector().token(true).label(key.label()).id(key.id()));
  }

  long[] findTokenObjects(Session session, HsmKey key, long objectClass) throws HsmException {
    return find(session, key, new AttributeVector().class_(objectClass).token(true).label(key.label()).id(key.id()));
  }

  private long[] find(Session session, HsmKey key, AttributeVector template) throws HsmException {
    try {
      counters.findObjects.increment();
      return session.findObjectsSingle(template, 16);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.FIND, "C_FindObjects failed for " + key.label());
    }
  }

  private long copy(long tokenHandle, HsmKey key) throws HsmException {
    // the anchor session is shared: PKCS#11 sessions are not for concurrent use
    synchronized (anchor) {
      try {
        return anchor.copyObject(tokenHandle, new AttributeVector().token(false));
      } catch (PKCS11Exception e) {
        throw ckr.map(e, Call.GENERATE_KEY, "C_CopyObject (session copy) failed for " + key.label());
      }
    }
  }

  private void destroyCopy(long handle) {
    synchronized (anchor) {
      try {
        anchor.destroyObject(handle);
      } catch (PKCS11Exception | RuntimeException e) {
        // already gone (a stale handle) or the connection is closing: the copy dies with the anchor session
      }
    }
  }
}
