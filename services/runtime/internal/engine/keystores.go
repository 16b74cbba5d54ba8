package engine

import (
	"fmt"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

// Keystore private keys arrive sealed under the org's contract encryption
// key (contract.SealKey); the message processor is the only runtime-plane
// component that holds the key (Options.ContractKeyPath) and opens them
// here, once per compile, in memory only. The key file is read at each
// compile that needs it, so a key written after the MP started is picked
// up. An alias whose key does not open fails, with a message naming the
// keystore and alias, only the deployments whose target uses it.

func keyID(keystore, alias string) string { return keystore + "\x00" + alias }

// openKeys returns c with its keystores copied and every sealed key
// opened into KeyPEM (KeyPEMSealed cleared, so the environment digest
// depends on the key, not on the fresh nonce of each sealing); failures
// go to ec.keyErrs.
func (ec *envCompiler) openKeys(c *contract.Contract) *contract.Contract {
	ec.keyErrs = map[string]error{}
	sealedAny := false
	for _, ks := range c.Keystores {
		for _, a := range ks.Aliases {
			sealedAny = sealedAny || len(a.KeyPEMSealed) > 0
		}
	}
	if !sealedAny {
		return c
	}
	var sealer *seal.Sealer
	key, keyErr := contract.ReadKeyFile(ec.opts.ContractKeyPath)
	if keyErr == nil {
		sealer, keyErr = seal.New(key)
	}
	out := *c
	out.Keystores = make([]contract.Keystore, len(c.Keystores))
	for i, ks := range c.Keystores {
		cp := contract.Keystore{Name: ks.Name, Aliases: make([]contract.KeystoreAlias, len(ks.Aliases))}
		for j, a := range ks.Aliases {
			if len(a.KeyPEMSealed) > 0 {
				sealed := a.KeyPEMSealed
				a.KeyPEMSealed = nil
				switch {
				case keyErr != nil:
					ec.keyErrs[keyID(ks.Name, a.Name)] = fmt.Errorf("KeyStore %q alias %q: cannot open its private key: %w", ks.Name, a.Name, keyErr)
				default:
					pem, err := contract.OpenKey(sealer, c.Organization, c.Environment, ks.Name, a.Name, sealed)
					if err != nil {
						ec.keyErrs[keyID(ks.Name, a.Name)] = fmt.Errorf("KeyStore %q alias %q: cannot open its private key with the contract encryption key %s (wrong key for organization %s?)",
							ks.Name, a.Name, ec.opts.ContractKeyPath, c.Organization)
					} else {
						a.KeyPEM = pem
					}
				}
			}
			cp.Aliases[j] = a
		}
		out.Keystores[i] = cp
	}
	return &out
}
