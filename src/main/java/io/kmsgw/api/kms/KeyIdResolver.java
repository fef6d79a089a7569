package io.kmsgw.api.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.KmsSettings;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Turns a request's KeyId into a key id. Accepts a key id and a key ARN of this account and region. Alias names
 * and alias ARNs are recognised, and answer NotFoundException until aliases exist.
 */
public final class KeyIdResolver {
  private static final Pattern UUID_FORM =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private final KmsSettings settings;

  public KeyIdResolver(KmsSettings settings) {
    this.settings = settings;
  }

  public UUID resolve(String keyId) {
    if (UUID_FORM.matcher(keyId).matches()) {
      return UUID.fromString(keyId);
    }
    if (keyId.startsWith("alias/")) {
      throw aliasNotFound(keyId);
    }
    if (keyId.startsWith("arn:")) {
      String[] parts = keyId.split(":", 6);
      if (parts.length != 6 || !parts[2].equals("kms") || parts[1].isEmpty() || parts[3].isEmpty()
          || !parts[4].matches("\\d{12}")) {
        throw new KmsException(ErrorCode.INVALID_ARN, "The KeyId is not a valid KMS ARN.");
      }
      String resource = parts[5];
      if (resource.startsWith("alias/")) {
        throw aliasNotFound(resource);
      }
      if (!resource.startsWith("key/") || !UUID_FORM.matcher(resource.substring(4)).matches()) {
        throw new KmsException(ErrorCode.INVALID_ARN, "The KeyId is not a valid KMS key ARN.");
      }
      if (!parts[3].equals(settings.region()) || !parts[4].equals(settings.accountId())) {
        throw KmsException.notFound("Key '" + keyId + "' does not exist in this gateway's account and region.");
      }
      return UUID.fromString(resource.substring(4));
    }
    throw KmsException.notFound("Invalid keyId: use a key id, key ARN, alias name or alias ARN.");
  }

  /** The ARN of a key id in this gateway's account and region (for the request log). */
  public String arn(UUID keyId) {
    return "arn:aws:kms:" + settings.region() + ":" + settings.accountId() + ":key/" + keyId;
  }

  private KmsException aliasNotFound(String alias) {
    return KmsException.notFound("Alias arn:aws:kms:" + settings.region() + ":" + settings.accountId() + ":"
        + (alias.length() > 300 ? alias.substring(0, 300) + "..." : alias) + " is not found.");
  }
}
