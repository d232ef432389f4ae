# The demo-coverage check's data fitted with lme4 / lmerTest: does the reference implementation's
# 95 % CI for smile − no smile cover the truth more often than ours on the same simulated
# studies, and does Kenward-Roger's small-sample correction change that?
#
# Data: `ET_COVERAGE_DWELL=DIR cargo bench -p et-analysis --bench demo_coverage` writes each
# simulated study's dwell rows to DIR/<scenario>-<seed>.csv.
# Run:  Rscript analysis/tests/reference/coverage_lme4.R DIR SCENARIO TRUTH_MS
#   e.g. Rscript coverage_lme4.R /tmp/dwell planted_effect 510.0   (the truth the bench prints)
# Prints one line per study and the coverage / p < 0.05 counts for Satterthwaite and
# Kenward-Roger intervals of the maximal model our default fits:
#   dwell_ms ~ smile + (1 + smile | participant) + (1 + smile | identity)   (REML)
# Ran with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2 (Debian 12 packages
# r-cran-lme4, r-cran-lmertest, r-cran-pbkrtest); never needed to run et-suite.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) stop("usage: coverage_lme4.R DIR SCENARIO TRUTH_MS")
dir <- args[1]
scenario <- args[2]
truth <- as.numeric(args[3])
files <- list.files(dir, pattern = paste0("^", scenario, "-[0-9]+\\.csv$"), full.names = TRUE)
if (!length(files)) stop(paste("no", scenario, "studies in", dir))

ctrl <- lmerControl(check.conv.singular = "ignore")
one <- function(f) {
  d <- read.csv(f)
  d$smile <- as.numeric(d$expression == "smile")
  m <- lmer(dwell_ms ~ smile + (1 + smile | participant) + (1 + smile | identity),
            data = d, REML = TRUE, control = ctrl)
  row <- function(ddf) {
    s <- coef(summary(m, ddf = ddf))["smile", ]
    half <- qt(0.975, s[["df"]]) * s[["Std. Error"]]
    c(est = s[["Estimate"]], se = s[["Std. Error"]], df = s[["df"]],
      covered = abs(s[["Estimate"]] - truth) <= half, p = s[["Pr(>|t|)"]])
  }
  sat <- row("Satterthwaite")
  kr <- row("Kenward-Roger")
  cat(sprintf("%s est %.1f  Satterthwaite SE %.1f df %.1f  KR SE %.1f df %.1f  singular %s\n",
              basename(f), sat[["est"]], sat[["se"]], sat[["df"]], kr[["se"]], kr[["df"]],
              isSingular(m)))
  c(sat = sat, kr = kr, singular = isSingular(m))
}
r <- do.call(rbind, lapply(files, one))
n <- nrow(r)
cat(sprintf("\n%s: %d studies, truth %.1f ms\n", scenario, n, truth))
cat(sprintf("  estimates: mean %.1f, SD %.1f; singular fits %d\n",
            mean(r[, "sat.est"]), sd(r[, "sat.est"]), sum(r[, "singular"])))
for (k in c("sat", "kr")) {
  cat(sprintf("  %-13s 95 %% CI covers the truth %d/%d   p < 0.05 %d/%d   RMS SE %.1f\n",
              if (k == "sat") "Satterthwaite" else "Kenward-Roger",
              sum(r[, paste0(k, ".covered")]), n, sum(r[, paste0(k, ".p")] < 0.05), n,
              sqrt(mean(r[, paste0(k, ".se")]^2))))
}
