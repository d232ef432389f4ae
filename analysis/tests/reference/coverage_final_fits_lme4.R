# The demo-coverage check's reported fits refitted with lme4 / lmerTest / pbkrtest: for each
# simulated study, the model our default analysis reported (the last step of its
# simplification, read from the detail in DIR/<scenario>-ours.tsv) is fitted to the same dwell
# rows (DIR/<scenario>-<seed>.csv), and the smile estimate, its Kenward-Roger SE and df are
# compared with ours.
#
# Data: `ET_COVERAGE_DWELL=DIR cargo bench -p et-analysis --bench demo_coverage` writes both.
# Run:  Rscript analysis/tests/reference/coverage_final_fits_lme4.R DIR SCENARIO
#   e.g. Rscript coverage_final_fits_lme4.R /tmp/dwell planted_effect
# lme4 is fitted with bobyqa, Nelder_Mead and nloptwrap and the lowest REML criterion kept:
# bobyqa alone stops on a worse, singular point in about one study in eight.
# Ran with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2; never needed to run et-suite.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: coverage_final_fits_lme4.R DIR SCENARIO")
dir <- args[1]
scenario <- args[2]
ours <- read.delim(file.path(dir, paste0(scenario, "-ours.tsv")), header = FALSE, quote = "",
                   col.names = c("seed", "est", "se", "df", "lo", "hi", "detail"))
worst <- c(est = 0, se = 0, df = 0)
n <- 0
differing <- 0
for (k in seq_len(nrow(ours))) {
  steps <- strsplit(ours$detail[k], "; response")[[1]]
  f <- sub(" \\(REML.*$", "", sub("^ ?~", "~", sub("^response ", "", steps[length(steps)])))
  if (!grepl("\\|", f)) next  # no random effect left: least squares, nothing to compare
  d <- read.csv(file.path(dir, sprintf("%s-%d.csv", scenario, ours$seed[k])))
  d$smile <- as.numeric(d$expression == "smile")
  fits <- lapply(c("bobyqa", "Nelder_Mead", "nloptwrap"), function(opt)
    lmer(as.formula(paste("dwell_ms", f)), data = d, REML = TRUE,
         control = lmerControl(optimizer = opt, check.conv.singular = "ignore")))
  m <- fits[[which.min(sapply(fits, function(x) getME(x, "devcomp")$cmp[["REML"]]))]]
  s <- coef(summary(m, ddf = "Kenward-Roger"))["smile", ]
  r <- c(est = abs(s[["Estimate"]] / ours$est[k] - 1), se = abs(s[["Std. Error"]] / ours$se[k] - 1),
         df = abs(s[["df"]] / ours$df[k] - 1))
  n <- n + 1
  if (any(r > 1e-4)) {
    differing <- differing + 1
    cat(sprintf("%d %s: estimate %.6g vs ours %.6g, SE %.6g vs %.6g, df %.6g vs %.6g, singular %s\n",
                ours$seed[k], f, s[["Estimate"]], ours$est[k], s[["Std. Error"]], ours$se[k],
                s[["df"]], ours$df[k], isSingular(m)))
  }
  worst <- pmax(worst, r)
}
cat(sprintf("%s: %d reported fits compared; %d differ by more than 1e-4 relative; largest relative differences: estimate %.2g, KR SE %.2g, KR df %.2g\n",
            scenario, n, differing, worst[["est"]], worst[["se"]], worst[["df"]]))
