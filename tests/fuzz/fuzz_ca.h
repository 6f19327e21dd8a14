/* fuzz_ca.h — the CA of the CRL fuzz targets (fuzz_crl, fuzz_crl_stream): one fixed test CA
 * and its key, with which the targets re-sign mutated CRLs. Test code: the embedded key signs
 * nothing but fuzz inputs. */
#ifndef JITRD_FUZZ_CA_H
#define JITRD_FUZZ_CA_H

/* Ed25519, so re-signing is deterministic and a crash reproduces. The seed corpus
 * (tests/fuzz/corpus/crl) was made with this CA by `openssl ca -gencrl` from an index.txt with
 * serials of 1, 2, 8, 16 and 20 octets and every kind of reason, plus truncations. */
static const char fuzz_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBYjCCARSgAwIBAgIBATAFBgMrZXAwJzETMBEGA1UECgwKaml0cmQgZnV6ejEQ\n"
    "MA4GA1UEAwwHRnV6eiBDQTAgFw0yNjExMjgwNDMzMzNaGA8yMDUxMDcyMDA0MzMz\n"
    "M1owJzETMBEGA1UECgwKaml0cmQgZnV6ejEQMA4GA1UEAwwHRnV6eiBDQTAqMAUG\n"
    "AytlcAMhAMIzn5RY2jas4+QPwdp1QqInrmCs4E6SdCPksbJm2ZJ5o2MwYTAdBgNV\n"
    "HQ4EFgQUMfqtqJHYfKa51VmOLTITcqyM298wHwYDVR0jBBgwFoAUMfqtqJHYfKa5\n"
    "1VmOLTITcqyM298wDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwBQYD\n"
    "K2VwA0EAxuaM7WCuxAkd0SVWKVnrdo0XrENNDfA8JUE2dKhd1efVHhFBrfA520nz\n"
    "MQ3uZVNKPgRbJEPEpsZxaJ02pmyUBg==\n"
    "-----END CERTIFICATE-----\n";

static const char fuzz_ca_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFk/XDWKhTr7vcE0jC0Df0jHsQZEIxNWJpq9XqONbXle\n"
    "-----END PRIVATE KEY-----\n";

#endif
