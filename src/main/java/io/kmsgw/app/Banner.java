package io.kmsgw.app;

import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.HsmDefinitions;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.log.Logging;

/**
 * What {@code kmsgw serve} prints once it listens: the endpoint, region and credentials to use. The generated
 * secret is printed only on the start that generated it; later starts point at the file instead, so the secret
 * does not end up in every log.
 */
public final class Banner {
  private Banner() {}

  public static void print(Gateway gateway) {
    GatewayConfig c = gateway.config();
    AdminCredentials.Resolved admin = gateway.admin();
    KeyStoreConnection.Status ks = gateway.keyStoreStatus();
    String endpoint = c.http().endpoint();
    StringBuilder sb = new StringBuilder();
    sb.append("\n  kmsgw is listening on ").append(endpoint)
        .append("  (region ").append(c.region()).append(", account ").append(c.accountId()).append(")\n");
    sb.append("  key store: ").append(ks.state());
    if (ks.errorCode() != null) {
      sb.append(" [").append(ks.errorCode()).append("]");
    }
    sb.append(" - ").append(ks.message()).append('\n');
    sb.append("  health:    curl ").append(endpoint).append("/healthz")
        .append("   (details: GET /healthz/detail, SigV4-signed for kms)\n\n");
    sb.append("  Use it with the AWS CLI or any AWS SDK:\n");
    sb.append("    export AWS_ACCESS_KEY_ID=").append(admin.key().accessKeyId()).append('\n');
    if (admin.generated()) {
      sb.append("    export AWS_SECRET_ACCESS_KEY=").append(admin.secret()).append('\n');
      sb.append("    # generated now and saved (owner-only) in ").append(admin.file()).append('\n');
    } else if (admin.file() != null) {
      sb.append("    export AWS_SECRET_ACCESS_KEY=$(sed -n 's/^secret_access_key=//p' ").append(admin.file())
          .append(")\n");
    } else {
      sb.append("    export AWS_SECRET_ACCESS_KEY=<the value of KMSGW_ADMIN_SECRET_ACCESS_KEY>\n");
    }
    sb.append("    export AWS_DEFAULT_REGION=").append(c.region()).append('\n');
    sb.append("    aws --endpoint-url ").append(endpoint).append(" kms create-key\n");
    DevToken.Prepared dev = gateway.dev();
    if (dev != null) {
      sb.append("\n  A second SoftHSM2 token (").append(HsmDefinitions.DEV_TOKEN_LABEL).append(") is ready for a custom key ")
          .append("store on ").append(HsmDefinitions.DEV_CLUSTER_ID).append(":\n");
      String user = dev.pinUser() == null ? "" : dev.pinUser() + ":";
      if (dev.fromEnvironment() != null) {
        sb.append("    PIN=\"").append(user).append("$KMSGW_DEV_PIN\"\n");
      } else if (dev.generated() != null) {
        sb.append("    PIN=").append(user).append(dev.generated()).append('\n');
        sb.append("    # generated now and saved (owner-only) in ").append(dev.pinFile()).append('\n');
      } else {
        sb.append("    PIN=").append(user).append("$(cat ").append(dev.pinFile()).append(")\n");
      }
      sb.append("    aws --endpoint-url ").append(endpoint).append(" kms create-custom-key-store --custom-key-store-name ")
          .append("dev2 --cloud-hsm-cluster-id ").append(HsmDefinitions.DEV_CLUSTER_ID)
          .append(" --key-store-password \"$PIN\" --trust-anchor-certificate file://")
          .append(DevToken.trustAnchorFile(c.dataDir()).toAbsolutePath()).append('\n');
      sb.append("    # then: connect-custom-key-store, and create-key --custom-key-store-id <id> --origin AWS_CLOUDHSM ")
          .append("(docs/key-stores.md)\n");
    }
    xks(sb, gateway, endpoint);
    Logging.line(sb.toString());
  }

  /** The XKS endpoints, and for the development one its credential and a curl command to try it. */
  private static void xks(StringBuilder sb, Gateway gateway, String mainEndpoint) {
    XksSetup.Prepared xks = gateway.xks();
    if (xks == null) {
      return;
    }
    String base = mainEndpoint;
    if (xks.listen() != null) {
      String h = xks.listen().host().contains(":") ? "[" + xks.listen().host() + "]" : xks.listen().host();
      base = (xks.listen().tlsCertificate() != null ? "https://" : "http://") + h + ":" + gateway.xksPort();
    }
    sb.append("\n  XKS proxy API (AWS external key store proxy):\n");
    for (io.kmsgw.config.XksSettings.Endpoint e : xks.endpoints()) {
      String uri = base + (e.prefix().isEmpty() ? "" : "/" + e.prefix()) + "/kms/xks/v1";
      sb.append("    ").append(uri).append("  (key store ").append(e.keyStoreId()).append(", region ")
          .append(e.region()).append(", service ").append(e.service()).append(")\n");
      XksDevCredentials.Resolved dev = xks.dev();
      if (e.dev() && dev != null) {
        sb.append("    XKS_ACCESS_KEY_ID=").append(dev.credential().accessKeyId()).append('\n');
        if (dev.generated()) {
          sb.append("    XKS_SECRET_ACCESS_KEY=").append(dev.credential().secretAccessKey()).append('\n');
          sb.append("    # generated now and saved (owner-only) in ").append(dev.file()).append('\n');
        } else if (dev.file() != null) {
          sb.append("    XKS_SECRET_ACCESS_KEY=$(sed -n 's/^secret_access_key=//p' ").append(dev.file()).append(")\n");
        } else {
          sb.append("    XKS_SECRET_ACCESS_KEY=\"$KMSGW_DEV_XKS_SECRET_ACCESS_KEY\"\n");
        }
        sb.append("    # serves the keys tagged ").append(io.kmsgw.config.XksSettings.ENDPOINT_TAG).append('=')
            .append(e.name()).append(" (by key id, or alias name without alias/) and every AES key labelled xks-* ")
            .append("on the token:\n    #   aws kms create-key --tags TagKey=")
            .append(io.kmsgw.config.XksSettings.ENDPOINT_TAG).append(",TagValue=").append(e.name()).append('\n');
        sb.append("    curl --aws-sigv4 aws:amz:").append(e.region()).append(':').append(e.service())
            .append(" --user \"$XKS_ACCESS_KEY_ID:$XKS_SECRET_ACCESS_KEY\" -H 'Content-Type: application/json' \\\n")
            .append("      -d '{\"requestMetadata\":{\"kmsRequestId\":\"1\",\"kmsOperation\":\"KmsHealthCheck\"}}' ")
            .append(uri).append("/health\n");
      }
    }
  }
}
