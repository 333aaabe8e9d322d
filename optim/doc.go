// Package optim holds the optimiser of the module's training loop: Adam
// (Kingma & Ba, "Adam: A Method for Stochastic Optimization",
// arXiv:1412.6980) with decoupled weight decay (Loshchilov & Hutter,
// "Decoupled Weight Decay Regularization", arXiv:1711.05101) or an L2
// penalty in the gradient, and the learning-rate Schedule: a linear
// warm-up, then a cosine decay to a fraction of the base rate,
//
//	lr(s) = lr₀ (f + (1 − f) ½ (1 + cos(π p))),   p = (s − warm-up)/(total − warm-up).
//
// Adam's state (step and moments) is exported, so that package train can
// checkpoint it and a resumed run continues bit for bit.
package optim
