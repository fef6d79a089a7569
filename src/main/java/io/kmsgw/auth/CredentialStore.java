package io.kmsgw.auth;

import java.util.Optional;

/** Looks up access keys by id. Called on the event loop for every request, so it must not block. */
public interface CredentialStore {
  Optional<AccessKey> find(String accessKeyId);
}
