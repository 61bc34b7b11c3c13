/*
 * Encrypted key files.
 *
 * Layout (CA_KEYFILE_BYTES = 128, integers little-endian):
 *   0   8  magic "CAKEYv1\n"
 *   8   8  Argon2id opslimit
 *   16  8  Argon2id memlimit (bytes)
 *   24  16 salt
 *   40  24 XChaCha20-Poly1305 nonce
 *   64  48 ciphertext of the 32-byte seed + 16-byte tag; bytes 0..63 are the AD
 *   112 16 BLAKE2b-128 of bytes 0..111 (unkeyed)
 *
 * The unkeyed checksum only tells damage from a wrong passphrase: a file whose
 * checksum fails is CA_ERR_KEYFILE_CORRUPT; one whose checksum holds but whose
 * tag does not is CA_ERR_WRONG_PASSPHRASE. Authenticity comes from the AEAD,
 * which covers the header, so costs and salt cannot be swapped unnoticed.
 * The declared costs are checked against the reader's caps (by default the
 * default write cost, identity.h) before Argon2id runs, so a hostile file
 * costs a loader no more than a genuine default one (docs/IDENTITY.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/file.h"
#include "cyberagent/identity.h"
#include "identity/identity_internal.h"
#include "internal.h"

#define KF_MAGIC     "CAKEYv1\n"
#define KF_MAGIC_LEN 8u
#define KF_OPS_OFF   8u
#define KF_MEM_OFF   16u
#define KF_SALT_OFF  24u
#define KF_NONCE_OFF 40u
#define KF_AD_LEN    64u
#define KF_CT_OFF    64u
#define KF_CT_LEN    (CA_SEED_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define KF_SUM_OFF   (KF_CT_OFF + KF_CT_LEN)
#define KF_SUM_LEN   16u

_Static_assert(KF_SUM_OFF + KF_SUM_LEN == CA_KEYFILE_BYTES, "key file layout");
_Static_assert(KF_AD_LEN == CAI_KEYFILE_HEADER_BYTES && KF_NONCE_OFF + 24u == KF_AD_LEN,
               "key file header");
_Static_assert(crypto_pwhash_SALTBYTES == 16, "salt size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "nonce size");
/* The documented defaults are libsodium's "moderate" level, and a reader accepts what a writer
 * writes. */
_Static_assert(CA_KEYFILE_OPSLIMIT_DEFAULT == crypto_pwhash_OPSLIMIT_MODERATE, "write cost");
_Static_assert(CA_KEYFILE_MEMLIMIT_DEFAULT == crypto_pwhash_MEMLIMIT_MODERATE, "write cost");
_Static_assert(CA_KEYFILE_MAX_OPSLIMIT_DEFAULT >= CA_KEYFILE_OPSLIMIT_DEFAULT, "read cap");
_Static_assert(CA_KEYFILE_MAX_MEMLIMIT_DEFAULT >= CA_KEYFILE_MEMLIMIT_DEFAULT, "read cap");

/* Argon2id runs on this thread (cai_keyfile_derivations). */
static _Thread_local uint64_t kdf_runs;

uint64_t cai_keyfile_derivations(void)
{
    return kdf_runs;
}

size_t ca_keyfile_bytes(void)
{
    return CA_KEYFILE_BYTES;
}

ca_status ca_keyfile_options_init(ca_keyfile_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_keyfile_options", version, CA_KEYFILE_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    opts->opslimit = CA_KEYFILE_OPSLIMIT_DEFAULT;
    opts->memlimit = CA_KEYFILE_MEMLIMIT_DEFAULT;
    opts->max_opslimit = CA_KEYFILE_MAX_OPSLIMIT_DEFAULT;
    opts->max_memlimit = CA_KEYFILE_MAX_MEMLIMIT_DEFAULT;
    return CA_OK;
}

static ca_status resolve_options(const ca_keyfile_options *in, ca_keyfile_options *out)
{
    if (in == NULL)
        return ca_keyfile_options_init(out, CA_KEYFILE_OPTIONS_VERSION);
    CAI_REQUIRE_VERSION("ca_keyfile_options", in->version, CA_KEYFILE_OPTIONS_VERSION);
    *out = *in;
    return CA_OK;
}

static ca_status check_cost(uint64_t ops, uint64_t mem)
{
    if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
        mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "Argon2id cost out of libsodium's range (ops %llu, mem %llu)",
                        (unsigned long long)ops, (unsigned long long)mem);
    return CA_OK;
}

static ca_status derive_key(uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
                            const char *pass, size_t pass_len, const uint8_t *salt, uint64_t ops,
                            uint64_t mem)
{
    kdf_runs++;
    /* crypto_pwhash declares its password nonnull, even when its length is 0. */
    if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, pass != NULL ? pass : "",
                      pass_len, salt, ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return cai_fail(CA_ERR_NO_MEMORY, "Argon2id could not allocate %llu bytes",
                        (unsigned long long)mem);
    return CA_OK;
}

static void checksum(const uint8_t *file, uint8_t sum[KF_SUM_LEN])
{
    crypto_generichash(sum, KF_SUM_LEN, file, KF_SUM_OFF, NULL, 0);
}

ca_status ca_identity_export_encrypted(const ca_identity *identity, const char *passphrase,
                                       size_t passphrase_len, const ca_keyfile_options *opts,
                                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(identity);
    CAI_REQUIRE(out_len);
    if (passphrase == NULL && passphrase_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "passphrase is NULL but passphrase_len > 0");
    ca_keyfile_options o;
    ca_status st = resolve_options(opts, &o);
    if (st == CA_OK)
        st = check_cost(o.opslimit, o.memlimit);
    if (st == CA_OK && (o.opslimit > o.max_opslimit || o.memlimit > o.max_memlimit))
        st = cai_fail(CA_ERR_KEYFILE_TOO_COSTLY,
                      "write cost ops %llu / mem %zu is above the options' own read caps "
                      "%llu / %zu: the file could not be loaded back (raise max_opslimit / "
                      "max_memlimit)",
                      (unsigned long long)o.opslimit, o.memlimit,
                      (unsigned long long)o.max_opslimit, o.max_memlimit);
    if (st == CA_OK)
        st = cai_check_out(out, out_cap, out_len, CA_KEYFILE_BYTES);
    if (st != CA_OK)
        return st;

    cai_keyfile_header h;
    h.opslimit = o.opslimit;
    h.memlimit = (uint64_t)o.memlimit;
    randombytes_buf(h.salt, sizeof h.salt);
    randombytes_buf(h.nonce, sizeof h.nonce);
    uint8_t seed[CA_SEED_BYTES];
    crypto_sign_ed25519_sk_to_seed(seed, cai_identity_secret(identity));
    st = cai_keyfile_seal(&h, seed, passphrase, passphrase_len, out);
    sodium_memzero(seed, sizeof seed);
    return st;
}

void cai_keyfile_header_write(const cai_keyfile_header *h, uint8_t out[CAI_KEYFILE_HEADER_BYTES])
{
    memcpy(out, KF_MAGIC, KF_MAGIC_LEN);
    cai_store_le64(out + KF_OPS_OFF, h->opslimit);
    cai_store_le64(out + KF_MEM_OFF, h->memlimit);
    memcpy(out + KF_SALT_OFF, h->salt, sizeof h->salt);
    memcpy(out + KF_NONCE_OFF, h->nonce, sizeof h->nonce);
}

ca_status cai_keyfile_seal(const cai_keyfile_header *h, const uint8_t seed[CA_SEED_BYTES],
                           const char *pass, size_t pass_len, uint8_t out[CA_KEYFILE_BYTES])
{
    cai_keyfile_header_write(h, out);
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    ca_status st = derive_key(key, pass, pass_len, out + KF_SALT_OFF, h->opslimit, h->memlimit);
    if (st == CA_OK) {
        crypto_aead_xchacha20poly1305_ietf_encrypt(out + KF_CT_OFF, NULL, seed, CA_SEED_BYTES, out,
                                                   KF_AD_LEN, NULL, out + KF_NONCE_OFF, key);
        checksum(out, out + KF_SUM_OFF);
    }
    sodium_memzero(key, sizeof key);
    if (st != CA_OK)
        sodium_memzero(out, CA_KEYFILE_BYTES);
    return st;
}

ca_status cai_keyfile_header_read(const uint8_t *data, size_t len, cai_keyfile_header *h)
{
    if (len != CA_KEYFILE_BYTES || memcmp(data, KF_MAGIC, KF_MAGIC_LEN) != 0)
        return cai_fail(CA_ERR_KEYFILE_CORRUPT, "not a libcyberagent key file (%zu bytes, bad %s)",
                        len, len == CA_KEYFILE_BYTES ? "magic" : "length");
    uint8_t sum[KF_SUM_LEN];
    checksum(data, sum);
    if (sodium_memcmp(sum, data + KF_SUM_OFF, KF_SUM_LEN) != 0)
        return cai_fail(CA_ERR_KEYFILE_CORRUPT, "key file is damaged (checksum mismatch)");
    h->opslimit = cai_load_le64(data + KF_OPS_OFF);
    h->memlimit = cai_load_le64(data + KF_MEM_OFF);
    memcpy(h->salt, data + KF_SALT_OFF, sizeof h->salt);
    memcpy(h->nonce, data + KF_NONCE_OFF, sizeof h->nonce);
    if (h->opslimit < crypto_pwhash_OPSLIMIT_MIN || h->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        h->opslimit > crypto_pwhash_OPSLIMIT_MAX || h->memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return cai_fail(CA_ERR_KEYFILE_CORRUPT, "key file names an impossible Argon2id cost");
    return CA_OK;
}

ca_status ca_identity_import_encrypted(ca_identity **out, const uint8_t *data, size_t data_len,
                                       const char *passphrase, size_t passphrase_len,
                                       const ca_keyfile_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    if (data == NULL && data_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "data is NULL but data_len > 0");
    if (passphrase == NULL && passphrase_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "passphrase is NULL but passphrase_len > 0");
    ca_keyfile_options o;
    ca_status st = resolve_options(opts, &o);
    if (st != CA_OK)
        return st;
    st = cai_ensure_init();
    if (st != CA_OK)
        return st;

    cai_keyfile_header h;
    if ((st = cai_keyfile_header_read(data, data_len, &h)) != CA_OK)
        return st;
    uint64_t ops = h.opslimit, mem = h.memlimit;
    if (ops > o.max_opslimit || mem > o.max_memlimit)
        return cai_fail(
            CA_ERR_KEYFILE_TOO_COSTLY,
            "key file asks for Argon2id ops %llu / mem %llu, above the allowed %llu / %zu",
            (unsigned long long)ops, (unsigned long long)mem, (unsigned long long)o.max_opslimit,
            o.max_memlimit);

    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t seed[CA_SEED_BYTES];
    st = derive_key(key, passphrase, passphrase_len, h.salt, ops, mem);
    if (st == CA_OK &&
        crypto_aead_xchacha20poly1305_ietf_decrypt(seed, NULL, NULL, data + KF_CT_OFF, KF_CT_LEN,
                                                   data, KF_AD_LEN, data + KF_NONCE_OFF, key) != 0)
        st = cai_fail(CA_ERR_WRONG_PASSPHRASE, "the passphrase does not open this key file");
    if (st == CA_OK)
        st = ca_identity_from_seed(out, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(key, sizeof key);
    return st;
}

ca_status ca_identity_save(const ca_identity *identity, const char *path, const char *passphrase,
                           size_t passphrase_len, const ca_keyfile_options *opts)
{
    CAI_REQUIRE(path);
    uint8_t file[CA_KEYFILE_BYTES];
    size_t len = 0;
    ca_status st = ca_identity_export_encrypted(identity, passphrase, passphrase_len, opts, file,
                                                sizeof file, &len);
    if (st == CA_OK)
        st = cai_file_replace(path, file, len, 0600);
    sodium_memzero(file, sizeof file);
    return st;
}

ca_status ca_identity_load(ca_identity **out, const char *path, const char *passphrase,
                           size_t passphrase_len, const ca_keyfile_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ca_status st = errno == ENOENT ? CA_ERR_NOT_FOUND : CA_ERR_IO;
        return cai_fail(st, "cannot open %s: %s", path, strerror(errno));
    }
    /* Read one byte more than a key file holds, to tell "too long" from "exact". */
    uint8_t file[CA_KEYFILE_BYTES + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, file + len, sizeof file - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return cai_fail(CA_ERR_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof file)
            break;
    }
    close(fd);
    ca_status st = ca_identity_import_encrypted(out, file, len, passphrase, passphrase_len, opts);
    sodium_memzero(file, sizeof file);
    return st;
}
