package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.amazonaws.encryptionsdk.AwsCrypto;
import com.amazonaws.encryptionsdk.CommitmentPolicy;
import com.amazonaws.encryptionsdk.CryptoResult;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.cryptography.materialproviders.IKeyring;
import software.amazon.cryptography.materialproviders.MaterialProviders;
import software.amazon.cryptography.materialproviders.model.CreateAwsKmsKeyringInput;
import software.amazon.cryptography.materialproviders.model.MaterialProvidersConfig;

/** Envelope encryption by the unmodified AWS Encryption SDK for Java with a KMS keyring pointed at the gateway. */
class EncryptionSdkIT {
  private static GatewayProcess gateway;
  private static KmsClient kms;
  private static IKeyring keyring;
  private static final AwsCrypto CRYPTO =
      AwsCrypto.builder().withCommitmentPolicy(CommitmentPolicy.RequireEncryptRequireDecrypt).build();

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("esdk");
    kms = gateway.client();
    String keyArn = kms.createKey(r -> r.description("esdk")).keyMetadata().arn();
    MaterialProviders mpl = MaterialProviders.builder()
        .MaterialProvidersConfig(MaterialProvidersConfig.builder().build()).build();
    keyring = mpl.CreateAwsKmsKeyring(CreateAwsKmsKeyringInput.builder().kmsKeyId(keyArn).kmsClient(kms).build());
  }

  @AfterAll
  static void stop() {
    if (kms != null) {
      kms.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  @Test
  void encryptAndDecrypt_oneMebibyte_roundTrips() {
    byte[] data = new byte[1024 * 1024];
    new SecureRandom().nextBytes(data);
    Map<String, String> context = Map.of("bucket", "reports", "object", "2026/q4.csv");
    CryptoResult<byte[], ?> encrypted = CRYPTO.encryptData(keyring, data, context);
    CryptoResult<byte[], ?> decrypted = CRYPTO.decryptData(keyring, encrypted.getResult());
    assertArrayEquals(data, decrypted.getResult());
    assertEquals("reports", decrypted.getEncryptionContext().get("bucket"));
  }

  @Test
  void decrypt_ofTamperedMessage_fails() {
    byte[] message = CRYPTO.encryptData(keyring, "short secret".getBytes(), Map.of("k", "v")).getResult();
    message[message.length - 40] ^= 0x01;
    assertThrows(Exception.class, () -> CRYPTO.decryptData(keyring, message));
  }
}
