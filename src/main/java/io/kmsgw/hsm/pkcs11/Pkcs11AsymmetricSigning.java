package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.format.DigestInfos;
import io.kmsgw.format.EcdsaSignatures;
import io.kmsgw.hsm.AsymmetricSigning;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.RSA_PKCS_PSS_PARAMS;

/**
 * The {@link AsymmetricSigning} part of a borrowed PKCS#11 session: the one mapping from a KMS signing algorithm to the
 * mechanism that signs a digest the gateway computed. Verification needs no HSM: the gateway verifies with the
 * public key ({@code kms.SignatureVerifier}).
 *
 * <ul>
 *   <li>RSASSA_PSS_SHA_*: {@code CKM_RSA_PKCS_PSS} with {@code CK_RSA_PKCS_PSS_PARAMS} of the hash, MGF1 with the same
 *       hash and a salt as long as the digest (what KMS does, and what openssl's {@code rsa_pss_saltlen:digest} and
 *       the JDK's {@code PSSParameterSpec} with that salt verify).</li>
 *   <li>RSASSA_PKCS1_V1_5_SHA_*: {@code CKM_RSA_PKCS} over the DER DigestInfo of the digest (RFC 8017 §9.2,
 *       {@link DigestInfos}).</li>
 *   <li>ECDSA_SHA_*: {@code CKM_ECDSA} over the digest; the token's {@code r || s} becomes DER here.</li>
 *   <li>ED25519_SHA_512: {@code CKM_EDDSA} without parameters (pure Ed25519, RFC 8032) over the message.</li>
 *   <li>ED25519_PH_SHA_512: refused. It needs {@code CK_EDDSA_PARAMS} with {@code phFlag}, which ipkcs11wrapper 1.0.9
 *       cannot pass, and SoftHSM2's {@code C_SignInit} does not read them for {@code CKM_EDDSA} (its sources) and
 *       signs pure Ed25519, a signature of the wrong algorithm; NSS has no EdDSA.</li>
 * </ul>
 */
final class Pkcs11AsymmetricSigning implements AsymmetricSigning {
  private final Session session;
  private final ObjectCalls calls;

  Pkcs11AsymmetricSigning(ObjectCalls calls) {
    this.session = calls.session();
    this.calls = calls;
  }

  @Override
  public byte[] signWithKeyPair(HsmKey key, KeySpec spec, Signing algorithm, byte[] input) throws HsmException {
    Mechanism mechanism = mechanism(algorithm);
    byte[] data = tokenInput(algorithm, input);
    byte[] signature = calls.withPrivateKey(key, Call.SIGN, h -> session.signSingle(mechanism, h, data));
    return isEcdsa(algorithm) ? EcdsaSignatures.rawToDer(signature) : signature;
  }

  private static boolean isEcdsa(Signing algorithm) {
    return algorithm == Signing.ECDSA_SHA_256 || algorithm == Signing.ECDSA_SHA_384
        || algorithm == Signing.ECDSA_SHA_512;
  }

  private static Mechanism mechanism(Signing algorithm) throws HsmException {
    return switch (algorithm) {
      case RSASSA_PSS_SHA_256 -> pss(CKM_SHA256, CKG_MGF1_SHA256, 32);
      case RSASSA_PSS_SHA_384 -> pss(CKM_SHA384, CKG_MGF1_SHA384, 48);
      case RSASSA_PSS_SHA_512 -> pss(CKM_SHA512, CKG_MGF1_SHA512, 64);
      case RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512 ->
          new Mechanism(CKM_RSA_PKCS);
      case ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512 -> new Mechanism(CKM_ECDSA);
      case ED25519_SHA_512 -> new Mechanism(CKM_EDDSA);
      case ED25519_PH_SHA_512 -> throw new HsmException(HsmErrorKind.UNSUPPORTED, "ED25519_PH_SHA_512 needs "
          + "CKM_EDDSA with CK_EDDSA_PARAMS (phFlag), which kmsgw's PKCS#11 wrapper cannot pass");
      case SM2DSA, ML_DSA_SHAKE_256 -> throw new HsmException(HsmErrorKind.UNSUPPORTED, algorithm
          + " has no PKCS#11 mechanism on the tokens kmsgw supports");
    };
  }

  private static Mechanism pss(long hash, long mgf, int saltLength) {
    return new Mechanism(CKM_RSA_PKCS_PSS, new RSA_PKCS_PSS_PARAMS(hash, mgf, saltLength));
  }

  /** What the token signs: the DigestInfo for PKCS#1 v1.5, the input as it is otherwise. */
  private static byte[] tokenInput(Signing algorithm, byte[] input) {
    return switch (algorithm) {
      case RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512 ->
          DigestInfos.of(algorithm.hash(), input);
      default -> input;
    };
  }
}
