package io.kmsgw.hsm.pkcs11;

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

  /** Private keys of signing key pairs (the audit trail's), by label: token object handles, never copied. */
  private final ConcurrentHashMap<HsmKey, Long> privateKeys = new ConcurrentHashMap<>();

  Long privateKey(HsmKey key) {
    return privateKeys.get(key);
  }

  void privateKey(HsmKey key, long handle) {
    privateKeys.put(key, handle);
  }

  void stalePrivateKey(HsmKey key, long handle) {
    privateKeys.remove(key, handle);
  }

  /** Forgets a handle that turned out stale. */
  void stale(HsmKey key, long handle) {
    handles.remove(key, handle);
  }

  /** Forgets a key about to be destroyed, destroying its copy. */
  void forget(HsmKey key) {
    Long h = handles.remove(key);
    if (h != null && sessionCopies) {
      destroyCopy(h);
    }
  }

  void clear() {
    handles.clear();
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

  long[] findTokenObjects(Session session, HsmKey key) throws HsmException {
    try {
      counters.findObjects.increment();
      return session.findObjectsSingle(
          new AttributeVector().class_(CKO_SECRET_KEY).token(true).label(key.label()).id(key.id()), 16);
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
