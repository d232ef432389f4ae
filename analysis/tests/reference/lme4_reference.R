# Reference values for et-analysis's linear mixed models (analysis/tests/parity/lme4.rs).
#
# Writes the data sets (lme4/<name>.csv) and lme4_reference.toml beside this script: for each
# case the fixed effects as lmerTest's summary() reports them (estimate, SE, Satterthwaite df,
# t, p), the variance components, the residual variance, the deviance / REML criterion and the
# log-likelihood; for REML fits also the Kenward-Roger tests as summary(m, ddf = "Kenward-Roger")
# reports them through pbkrtest (adjusted SE, df, t, p); and likelihood-ratio tests as anova()
# reports them.
#
# Run with (Debian 12 packages r-base-core r-cran-lme4 r-cran-lmertest r-cran-pbkrtest; the
# test setup only):
#   Rscript analysis/tests/reference/lme4_reference.R
# Generated with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, numDeriv 2016.8-1.1.
#
# The stored values are at the optimum itself: the deviance is flat there to machine precision,
# so a derivative-free optimiser (nloptwrap by default, bobyqa even with rhoend = 1e-13) stops
# up to ~1e-6 away in theta, which moves Satterthwaite df and far-tail p-values by more than the
# 1e-6 the test asks. After bobyqa, theta is polished with Newton steps on lme4's own deviance
# function (numDeriv gradient and Hessian, bounds respected) and the model is refitted at that
# theta without optimising (optimizer = NULL), so lme4 and lmerTest compute every reported
# value there.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else getwd()
})
dir.create(file.path(here, "lme4"), showWarnings = FALSE)

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-13, maxfun = 1e6),
                     check.conv.singular = "ignore")

# lmerTest's fit of `formula` at the Newton-polished optimum of lme4's deviance.
fit_at_optimum <- function(formula, d, reml) {
  m <- lme4::lmer(formula, data = d, REML = reml, control = tight)
  dev <- as.function(m)
  th <- getME(m, "theta")
  lower <- getME(m, "lower")
  for (i in 1:50) {
    g <- numDeriv::grad(dev, th)
    h <- numDeriv::hessian(dev, th)
    free <- !(th <= lower & g >= 0)
    step <- rep(0, length(th))
    step[free] <- -solve(h[free, free, drop = FALSE], g[free])
    th <- pmax(th + step, lower)
    if (max(abs(step)) < 1e-13) break
  }
  lmerTest::lmer(formula, data = d, REML = reml, start = list(theta = th),
                 control = lmerControl(optimizer = NULL, check.conv.singular = "ignore"))
}

# participants x identities x expressions; identity nested in condition (half each).
simulate <- function(seed, n_part, n_id, sd_part, sd_id, sd_slope, sd_res, drop = 0,
                     sd_id_slope = 0) {
  set.seed(seed)
  d <- expand.grid(s = 0:1, i = seq_len(n_id), p = seq_len(n_part))
  d$participant <- sprintf("P%02d", d$p)
  d$identity <- sprintf("id%02d", d$i)
  d$smile <- d$s
  d$cond <- as.integer(d$i > n_id / 2)
  a_p <- rnorm(n_part, 0, sd_part)
  s_p <- rnorm(n_part, 0, sd_slope)
  a_i <- rnorm(n_id, 0, sd_id)
  # Drawn only when asked for, so the earlier data sets stay as they were.
  s_i <- if (sd_id_slope > 0) rnorm(n_id, 0, sd_id_slope) else rep(0, n_id)
  d$dwell <- round(1500 + 120 * d$smile - 80 * d$cond + 60 * d$smile * d$cond +
    a_p[d$p] + s_p[d$p] * d$smile + a_i[d$i] + s_i[d$i] * d$smile + rnorm(nrow(d), 0, sd_res), 3)
  if (drop > 0) d <- d[-sample(nrow(d), round(drop * nrow(d))), ]
  d[, c("participant", "identity", "cond", "smile", "dwell")]
}

num <- function(x) sprintf("%.17g", x)
out <- character()
emit <- function(...) out <<- c(out, paste0(...))

write_case <- function(name, data_name, formula, reml, fixed, random, slope = "",
                       slope_groups = if (slope == "") character() else "participant",
                       uncorrelated_groups = character(), slope_only_groups = character()) {
  d <- read.csv(file.path(here, "lme4", paste0(data_name, ".csv")),
                colClasses = c("character", "character", "numeric", "numeric", "numeric"))
  m <- fit_at_optimum(as.formula(formula), d, reml)
  s <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  emit("[[case]]")
  emit('name = "', name, '"')
  emit('data = "', data_name, '.csv"')
  emit('formula = "', formula, '"')
  emit("reml = ", tolower(as.character(reml)))
  emit("fixed = [", paste0('"', fixed, '"', collapse = ", "), "]")
  emit("random = [", paste0('"', random, '"', collapse = ", "), "]")
  emit('slope = "', slope, '"')
  emit("slope_groups = [", if (length(slope_groups)) paste0('"', slope_groups, '"', collapse = ", ") else "", "]")
  if (length(uncorrelated_groups))
    emit("uncorrelated_groups = [", paste0('"', uncorrelated_groups, '"', collapse = ", "), "]")
  if (length(slope_only_groups))
    emit("slope_only_groups = [", paste0('"', slope_only_groups, '"', collapse = ", "), "]")
  emit("singular = ", tolower(as.character(isSingular(m))))
  emit("deviance = ", num(if (reml) getME(m, "devcomp")$cmp[["REML"]] else deviance(m)))
  emit("log_likelihood = ", num(as.numeric(logLik(m))))
  emit("residual_variance = ", num(sigma(m)^2))
  emit("estimate = [", paste(num(s[, "Estimate"]), collapse = ", "), "]")
  emit("se = [", paste(num(s[, "Std. Error"]), collapse = ", "), "]")
  emit("df = [", paste(num(s[, "df"]), collapse = ", "), "]")
  emit("t = [", paste(num(s[, "t value"]), collapse = ", "), "]")
  emit("p = [", paste(num(s[, "Pr(>|t|)"]), collapse = ", "), "]")
  if (reml) {
    kr <- summary(m, ddf = "Kenward-Roger")$coefficients
    emit("kr_se = [", paste(num(kr[, "Std. Error"]), collapse = ", "), "]")
    emit("kr_df = [", paste(num(kr[, "df"]), collapse = ", "), "]")
    emit("kr_t = [", paste(num(kr[, "t value"]), collapse = ", "), "]")
    emit("kr_p = [", paste(num(kr[, "Pr(>|t|)"]), collapse = ", "), "]")
  }
  v <- vc[is.na(vc$var2) & vc$grp != "Residual", ]
  # `||` splits a factor into terms lme4 names participant, participant.1: one factor to us.
  v$grp <- sub("\\.[0-9]+$", "", v$grp)
  emit("components = [", paste0('"', v$grp, " ", ifelse(v$var1 == "(Intercept)", "(Intercept)", v$var1), '"', collapse = ", "), "]")
  emit("variances = [", paste(num(v$vcov), collapse = ", "), "]")
  cr <- vc[!is.na(vc$var2), ]
  emit("correlations = [", paste(num(cr$sdcor), collapse = ", "), "]")
  emit("correlation_groups = [", if (nrow(cr)) paste0('"', cr$grp, '"', collapse = ", ") else "", "]")
  emit("")
  invisible(m)
}

write_lrt <- function(name, small, large, small_name, large_name) {
  a <- anova(small, large, refit = FALSE)
  emit("[[lrt]]")
  emit('name = "', name, '"')
  emit('small = "', small_name, '"')
  emit('large = "', large_name, '"')
  emit("chisq = ", num(a$Chisq[2]))
  emit("df = ", a$Df[2])
  emit("p = ", num(a$`Pr(>Chisq)`[2]))
  emit("")
}

save <- function(d, name) write.csv(d, file.path(here, "lme4", paste0(name, ".csv")), row.names = FALSE)

save(simulate(11, 12, 16, 150, 100, 60, 200), "balanced")
save(simulate(12, 12, 16, 150, 100, 60, 200, drop = 0.15), "unbalanced")
# Identity variance 0 in truth and small: lme4 ends on the boundary (checked below).
save(simulate(18, 8, 8, 150, 0, 0, 250), "singular")
save(simulate(13, 20, 24, 120, 90, 80, 180, drop = 0.1), "slope")
save(simulate(14, 16, 24, 130, 90, 80, 180, drop = 0.1, sd_id_slope = 90), "slopes")

emit("# Generated by lme4_reference.R: R ", R.version$major, ".", R.version$minor,
     ", lme4 ", as.character(packageVersion("lme4")),
     ", lmerTest ", as.character(packageVersion("lmerTest")),
     ", pbkrtest ", as.character(packageVersion("pbkrtest")),
     ", numDeriv ", as.character(packageVersion("numDeriv")), ". Do not edit.")
emit("")
base <- "dwell ~ smile + (1 | participant) + (1 | identity)"
inter <- "dwell ~ smile * cond + (1 | participant) + (1 | identity)"
slope <- "dwell ~ smile + (1 + smile | participant) + (1 | identity)"
for (data in c("balanced", "unbalanced")) {
  write_case(paste0(data, "_reml"), data, base, TRUE, c("(Intercept)", "smile"), c("participant", "identity"))
  write_case(paste0(data, "_interaction_reml"), data, inter, TRUE,
             c("(Intercept)", "smile", "cond", "smile:cond"), c("participant", "identity"))
  m0 <- write_case(paste0(data, "_ml_null"), data, "dwell ~ 1 + (1 | participant) + (1 | identity)", FALSE,
                   c("(Intercept)"), c("participant", "identity"))
  m1 <- write_case(paste0(data, "_ml"), data, base, FALSE, c("(Intercept)", "smile"), c("participant", "identity"))
  write_lrt(paste0(data, "_smile"), m0, m1, paste0(data, "_ml_null"), paste0(data, "_ml"))
}
ms <- write_case("singular_reml", "singular", base, TRUE, c("(Intercept)", "smile"), c("participant", "identity"))
stopifnot(isSingular(ms))
write_case("slope_reml", "slope", slope, TRUE, c("(Intercept)", "smile"), c("participant", "identity"), "smile")
write_case("slope_ml", "slope", slope, FALSE, c("(Intercept)", "smile"), c("participant", "identity"), "smile")
write_case("balanced_slope_reml", "balanced", slope, TRUE, c("(Intercept)", "smile"), c("participant", "identity"), "smile")
slopes <- "dwell ~ smile + (1 + smile | participant) + (1 + smile | identity)"
both <- c("participant", "identity")
mb <- write_case("slopes_reml", "slopes", slopes, TRUE, c("(Intercept)", "smile"), both, "smile", both)
stopifnot(!isSingular(mb))
write_case("slopes_ml", "slopes", slopes, FALSE, c("(Intercept)", "smile"), both, "smile", both)
# The simplification steps of a singular maximal model: slopes uncorrelated with their
# intercepts (`||`), and a slope without its intercept.
uncorrelated <- "dwell ~ smile + (1 + smile || participant) + (1 + smile || identity)"
write_case("slopes_uncorrelated_reml", "slopes", uncorrelated, TRUE, c("(Intercept)", "smile"), both,
           "smile", both, uncorrelated_groups = both)
write_case("slope_uncorrelated_ml", "slope", "dwell ~ smile + (1 + smile || participant) + (1 | identity)",
           FALSE, c("(Intercept)", "smile"), c("participant", "identity"), "smile",
           uncorrelated_groups = "participant")
write_case("slope_only_reml", "slope", "dwell ~ smile + (0 + smile | participant) + (1 | identity)",
           TRUE, c("(Intercept)", "smile"), c("participant", "identity"), "smile",
           slope_only_groups = "participant")

# Not simulated here: drawn by analysis/benches/lmm.rs (seed 1020, planted effect, 10
# participants x 32 identities x 2) and stored as it is. Near its optimum the deviance is almost
# flat along one direction; a Newton Hessian with forward-difference cross terms lost positive
# definiteness there and the fit was reported as not converged.
write_case("flat_slope_reml", "flat_slope", slope, TRUE, c("(Intercept)", "smile"),
           c("participant", "identity"), "smile")

# Not simulated here: the NS rows of `et-suite demo`'s dwell.csv (boundary_intercept: 10
# participants, seed 11; boundary_identity: 16 participants, seed 23; boundary_proportion: the
# same with response = "proportion" and exclusions, its `dwell` column the proportion), stored
# as they are. A
# term with one effect per level has a profiled deviance even in its theta, so at theta = 0 the
# gradient is 0 whatever the curvature: the fit stopped there and reported a variance of 0 where
# lme4 finds a positive one at a lower REML criterion.
mi <- write_case("boundary_intercept_reml", "boundary_intercept",
                 "dwell ~ smile + (1 + smile || participant) + (1 | identity)", TRUE,
                 c("(Intercept)", "smile"), c("participant", "identity"), "smile",
                 uncorrelated_groups = "participant")
stopifnot(!isSingular(mi))
mj <- write_case("boundary_identity_reml", "boundary_identity",
                 "dwell ~ smile + (0 + smile | participant) + (1 | identity)", TRUE,
                 c("(Intercept)", "smile"), c("participant", "identity"), "smile",
                 slope_only_groups = "participant")
stopifnot(!isSingular(mj))
# The share of the stimulus time (response = "proportion"), NS rows of seed 23 after the
# exclusion rules min_valid_share = 0.9 and max_validation_accuracy_deg = 0.5: the identities'
# variance (SD 0.023) had been dropped there too.
mk <- write_case("boundary_proportion_reml", "boundary_proportion",
                 "dwell ~ smile + (0 + smile | participant) + (1 | identity)", TRUE,
                 c("(Intercept)", "smile"), c("participant", "identity"), "smile",
                 slope_only_groups = "participant")
stopifnot(!isSingular(mk))

# The expression x condition test as et-suite's analysis runs it: likelihood ratio of ML fits
# with and without the interaction, crossed random intercepts (every row of `et-suite demo
# --participants 16 --seed 23`'s dwell.csv; the identities' variance had been left out).
write_interaction <- function(name, data_name) {
  d <- read.csv(file.path(here, "lme4", paste0(data_name, ".csv")),
                colClasses = c("character", "character", "character", "numeric", "numeric"))
  small <- fit_at_optimum(dwell ~ smile + condition + (1 | participant) + (1 | identity), d, FALSE)
  large <- fit_at_optimum(dwell ~ smile * condition + (1 | participant) + (1 | identity), d, FALSE)
  a <- anova(small, large, refit = FALSE)
  emit("[[interaction]]")
  emit('name = "', name, '"')
  emit('data = "', data_name, '.csv"')
  emit("singular = ", tolower(as.character(isSingular(small) || isSingular(large))))
  emit("chisq = ", num(a$Chisq[2]))
  emit("df = ", a$Df[2])
  emit("p = ", num(a$`Pr(>Chisq)`[2]))
  emit("")
}
write_interaction("conditions_seed23", "interaction_conditions")

writeLines(out, file.path(here, "lme4_reference.toml"))
