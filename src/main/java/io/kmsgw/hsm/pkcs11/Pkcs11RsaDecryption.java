package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_RSA_PKCS_OAEP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_RSA_X_509;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.RsaDecryption;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.RSA_PKCS_OAEP_PARAMS;

/** The {@link RsaDecryption} part of a borrowed PKCS#11 session ({@link Pkcs11Session}), on the private key. */
final class Pkcs11RsaDecryption implements RsaDecryption {
  private final Session session;
  private final ObjectCalls calls;

  Pkcs11RsaDecryption(ObjectCalls calls) {
    this.session = calls.session();
    this.calls = calls;
  }

  @Override
  public byte[] decryptOaep(HsmKey key, String hash, byte[] ciphertext) throws HsmException {
    // the digest mechanism and the MGF1 generator of the same hash (CKM_SHA_1 / CKG_MGF1_SHA1, ...)
    long[] params = switch (hash) {
      case "SHA-1" -> new long[] {0x220, 0x1};
      case "SHA-256" -> new long[] {0x250, 0x2};
      default -> throw new HsmException(HsmErrorKind.UNSUPPORTED, "RSA-OAEP with " + hash + " is not offered");
    };
    // the wrapper's two-argument form is CKZ_DATA_SPECIFIED with no data: the empty label (PKCS#11 v2.40 §2.1.8)
    Mechanism oaep = new Mechanism(CKM_RSA_PKCS_OAEP, new RSA_PKCS_OAEP_PARAMS(params[0], params[1]));
    return calls.withPrivateKey(key, Call.DECRYPT, h -> session.decryptSingle(oaep, h, ciphertext));
  }

  @Override
  public byte[] decryptRaw(HsmKey key, byte[] ciphertext) throws HsmException {
    return calls.withPrivateKey(key, Call.DECRYPT,
        h -> session.decryptSingle(new Mechanism(CKM_RSA_X_509), h, ciphertext));
  }
}
