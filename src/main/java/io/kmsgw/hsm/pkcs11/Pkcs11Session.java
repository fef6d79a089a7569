package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.GCM_PARAMS;

/** One borrowed PKCS#11 session seen through the {@link HsmSession} port. */
final class Pkcs11Session implements HsmSession {
  private static final int GCM_TAG_BITS = 128;

  private final Session session;
  private final CkrMapping ckr;
  private final ConcurrentHashMap<HsmKey, Long> handles;
  private final Pkcs11Counters counters;

  Pkcs11Session(Session session, CkrMapping ckr, ConcurrentHashMap<HsmKey, Long> handles, Pkcs11Counters counters) {
    this.session = session;
    this.ckr = ckr;
    this.handles = handles;
    this.counters = counters;
  }

  /** The wrapped PKCS#11 session (tests close it behind the pool's back). */
  Session raw() {
    return session;
  }

  /**
   * The custody template of every CMK version: a private, sensitive, never-extractable token object that can
   * encrypt and decrypt and do nothing else (no wrap, unwrap, sign, verify or derive).
   */
  static AttributeVector aes256Template(String label, byte[] id) {
    return AttributeVector.newAESSecretKey()
        .token(true)
        .private_(true)
        .sensitive(true)
        .extractable(false)
        .encrypt(true)
        .decrypt(true)
        .wrap(false)
        .unwrap(false)
        .sign(false)
        .verify(false)
        .derive(false)
        .valueLen(32)
        .label(label)
        .id(id);
  }

  @Override
  public HsmKey generateAes256Key(String label, byte[] id) throws HsmException {
    try {
      long handle = session.generateKey(new Mechanism(CKM_AES_KEY_GEN), aes256Template(label, id));
      HsmKey key = new HsmKey(label, id);
      handles.put(key, handle);
      return key;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKey (AES-256) failed for " + label);
    }
  }

  @Override
  public byte[] encryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] plaintext) throws HsmException {
    return withHandle(key, Call.ENCRYPT, handle ->
        session.encryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(iv, aad, GCM_TAG_BITS)), handle, plaintext));
  }

  @Override
  public byte[] decryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) throws HsmException {
    return withHandle(key, Call.DECRYPT, handle ->
        session.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(iv, aad, GCM_TAG_BITS)), handle,
            ciphertextAndTag));
  }

  @Override
  public byte[] generateRandom(int length) throws HsmException {
    try {
      return session.generateRandom(length);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.RANDOM, "C_GenerateRandom failed");
    }
  }

  @Override
  public List<HsmKey> findSecretKeys(String labelPrefix) throws HsmException {
    List<Long> found = new ArrayList<>();
    try {
      counters.findObjects.increment();
      session.findObjectsInit(new AttributeVector().class_(CKO_SECRET_KEY));
      try {
        long[] batch;
        while ((batch = session.findObjects(256)).length > 0) {
          for (long h : batch) {
            found.add(h);
          }
        }
      } finally {
        // SoftHSM2 (and the standard) need C_FindObjectsFinal before the session can search again
        session.findObjectsFinal();
      }
      List<HsmKey> keys = new ArrayList<>();
      for (long h : found) {
        AttributeVector attrs = session.getAttrValues(h, CKA_LABEL, CKA_ID);
        String label = attrs.label();
        byte[] id = attrs.id();
        if (label != null && label.startsWith(labelPrefix)) {
          keys.add(new HsmKey(label, id == null ? new byte[0] : id));
        }
      }
      return keys;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.FIND, "listing secret keys failed");
    }
  }

  @Override
  public boolean exists(HsmKey key) throws HsmException {
    return find(key).length > 0;
  }

  @Override
  public void destroy(HsmKey key) throws HsmException {
    handles.remove(key);
    for (long h : find(key)) {
      try {
        session.destroyObject(h);
      } catch (PKCS11Exception e) {
        if (ckr.kind(e.getErrorCode(), Call.DESTROY) != HsmErrorKind.STALE_HANDLE) {
          throw ckr.map(e, Call.DESTROY, "C_DestroyObject failed for " + key.label());
        }
      }
    }
  }

  @Override
  public KeyCustody custody(HsmKey key) throws HsmException {
    return withHandle(key, Call.GET_ATTRIBUTES, handle -> {
      AttributeVector a = session.getAttrValues(handle, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
          CKA_ALWAYS_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE);
      return new KeyCustody(isTrue(a.token()), isTrue(a.private_()), isTrue(a.sensitive()),
          isTrue(a.alwaysSensitive()), isTrue(a.extractable()), isTrue(a.neverExtractable()));
    });
  }

  private static boolean isTrue(Boolean b) {
    return Boolean.TRUE.equals(b);
  }

  private long[] find(HsmKey key) throws HsmException {
    try {
      counters.findObjects.increment();
      return session.findObjectsSingle(
          new AttributeVector().class_(CKO_SECRET_KEY).label(key.label()).id(key.id()), 16);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.FIND, "C_FindObjects failed for " + key.label());
    }
  }

  private long handle(HsmKey key) throws HsmException {
    Long cached = handles.get(key);
    if (cached != null) {
      return cached;
    }
    long[] found = find(key);
    if (found.length == 0) {
      throw new HsmException(HsmErrorKind.KEY_NOT_FOUND, "key object " + key.label() + " is not in the token");
    }
    handles.put(key, found[0]);
    return found[0];
  }

  @FunctionalInterface
  private interface HandleCall<T> {
    T apply(long handle) throws PKCS11Exception;
  }

  /** Runs a call on the key's cached handle; a stale handle is looked up again once. */
  private <T> T withHandle(HsmKey key, Call call, HandleCall<T> fn) throws HsmException {
    for (int attempt = 0; ; attempt++) {
      long handle = handle(key);
      try {
        return fn.apply(handle);
      } catch (PKCS11Exception e) {
        HsmException mapped = ckr.map(e, call, call + " failed with key " + key.label());
        if (mapped.kind() == HsmErrorKind.STALE_HANDLE && attempt == 0) {
          handles.remove(key, handle);
          continue;
        }
        throw mapped;
      }
    }
  }
}
