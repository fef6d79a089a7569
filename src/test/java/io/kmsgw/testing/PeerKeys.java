package io.kmsgw.testing;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/** An ECDH peer's key pairs, made by the JDK, for DeriveSharedSecret tests. */
public final class PeerKeys {
  private PeerKeys() {}

  /** A key pair on the named curve ({@code secp256r1}, {@code secp384r1}, {@code secp521r1}). */
  public static KeyPair peer(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  /** The SPKI of a JDK EC public key with its point compressed (SEC 1 §2.3.3), as openssl writes it when asked. */
  public static byte[] compressed(PublicKey key) throws Exception {
    ECPublicKey ec = (ECPublicKey) key;
    int size = (((ECFieldFp) ec.getParams().getCurve().getField()).getP().bitLength() + 7) / 8;
    byte[] point = new byte[1 + size];
    point[0] = (byte) (ec.getW().getAffineY().testBit(0) ? 0x03 : 0x02);
    byte[] x = ec.getW().getAffineX().toByteArray();
    int skip = x.length > size ? x.length - size : 0;
    System.arraycopy(x, skip, point, 1 + size - (x.length - skip), x.length - skip);
    SubjectPublicKeyInfo info = SubjectPublicKeyInfo.getInstance(key.getEncoded());
    return new SubjectPublicKeyInfo(info.getAlgorithm(), point).getEncoded("DER");
  }
}
