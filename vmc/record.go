package vmc

import (
	"encoding/json"
	"math"

	"github.com/isingflow/isingflow/internal/runio"
)

// MarshalJSON writes the record with every non-finite number as null (JSON
// has no NaN or infinity): the KL per site when the exact free energy is
// unknown, and the estimates and gradient norm of a rejected step, whose
// loss or gradient was not finite.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	return json.Marshal(struct {
		plain
		ContinuousFreeEnergyPerSite  *float64 `json:"free_energy_cont_per_site"`
		ContinuousFreeEnergyErr      *float64 `json:"free_energy_cont_per_site_err"`
		VariationalFreeEnergyPerSite *float64 `json:"variational_free_energy_per_site"`
		VariationalFreeEnergyErr     *float64 `json:"variational_free_energy_per_site_err"`
		KLPerSite                    *float64 `json:"kl_per_site"`
		ESSFraction                  *float64 `json:"ess_fraction"`
		GradNorm                     *float64 `json:"grad_norm"`
	}{plain(r),
		runio.FiniteOrNull(r.ContinuousFreeEnergyPerSite), runio.FiniteOrNull(r.ContinuousFreeEnergyErr),
		runio.FiniteOrNull(r.VariationalFreeEnergyPerSite), runio.FiniteOrNull(r.VariationalFreeEnergyErr),
		runio.FiniteOrNull(r.KLPerSite), runio.FiniteOrNull(r.ESSFraction), runio.FiniteOrNull(r.GradNorm)})
}

// UnmarshalJSON reads what MarshalJSON writes, a null number as NaN.
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record
	var v struct {
		plain
		ContinuousFreeEnergyPerSite  *float64 `json:"free_energy_cont_per_site"`
		ContinuousFreeEnergyErr      *float64 `json:"free_energy_cont_per_site_err"`
		VariationalFreeEnergyPerSite *float64 `json:"variational_free_energy_per_site"`
		VariationalFreeEnergyErr     *float64 `json:"variational_free_energy_per_site_err"`
		KLPerSite                    *float64 `json:"kl_per_site"`
		ESSFraction                  *float64 `json:"ess_fraction"`
		GradNorm                     *float64 `json:"grad_norm"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Record(v.plain)
	for _, f := range []struct {
		dst *float64
		src *float64
	}{
		{&r.ContinuousFreeEnergyPerSite, v.ContinuousFreeEnergyPerSite},
		{&r.ContinuousFreeEnergyErr, v.ContinuousFreeEnergyErr},
		{&r.VariationalFreeEnergyPerSite, v.VariationalFreeEnergyPerSite},
		{&r.VariationalFreeEnergyErr, v.VariationalFreeEnergyErr},
		{&r.KLPerSite, v.KLPerSite},
		{&r.ESSFraction, v.ESSFraction},
		{&r.GradNorm, v.GradNorm},
	} {
		*f.dst = math.NaN()
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return nil
}
