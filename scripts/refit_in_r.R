# Refits every mixed-model row of an et-suite analysis with lme4 / lmerTest / pbkrtest, from the
# analysis folder's own dwell.csv, and prints et-suite's values beside R's: so a reviewer can
# check any row of models.csv (the lmm rows; comparisons.csv holds the same rows corrected).
#
# Run:  Rscript scripts/refit_in_r.R ANALYSIS_DIR [proportion]
#   ANALYSIS_DIR: the folder `et-suite analyze` wrote; add `proportion` when the analysis config
#   says response = "proportion".
# Needs R with lme4, lmerTest and pbkrtest (Debian 12: r-cran-lme4 r-cran-lmertest
# r-cran-pbkrtest); never needed to run et-suite. Written and run with R 4.2.2, lme4 1.1-31,
# lmerTest 3.1-3, pbkrtest 0.5.2.
#
# The model of a row is the last step of its `detail` (the fit reported after any
# simplification of a singular maximal model); et-suite's defaults are REML with Kenward-Roger
# SE and df. lme4 is fitted with bobyqa, Nelder_Mead and nloptwrap and the lowest REML
# criterion kept (one optimiser alone can stop on a worse point), then restarted off any
# variance it left at 0 (`et-suite demo --participants 16 --seed 23`, all images: all three
# stop at a participant intercept variance of 0, REML 8757.19, where 8756.27 is reached with
# it at 194.5 ms, et-suite's fit).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: refit_in_r.R ANALYSIS_DIR [proportion]")
dir <- args[1]
response <- if (length(args) >= 2 && args[2] == "proportion") "proportion" else "dwell_ms"

dwell <- read.csv(file.path(dir, "dwell.csv"), colClasses = c(participant = "character",
                  identity = "character", condition = "character", expression = "character"))
dwell <- dwell[dwell$expression %in% c("smile", "no_smile"), ]
dwell$smile <- as.numeric(dwell$expression == "smile")
dwell$response <- dwell[[response]]
models <- read.csv(file.path(dir, "models.csv"), colClasses = c(condition = "character"))
rows <- models[models$model == "lmm" & models$test %in% c("lmm_t", "lm_t"), ]

best_fit <- function(f, d) {
  fits <- lapply(c("bobyqa", "Nelder_Mead", "nloptwrap"), function(o)
    tryCatch(lmerTest::lmer(f, data = d, REML = TRUE,
                            control = lmerControl(optimizer = o, check.conv.singular = "ignore")),
             error = function(e) NULL))
  fits <- Filter(Negate(is.null), fits)
  best <- fits[[which.min(sapply(fits, function(m) getME(m, "devcomp")$cmp[["REML"]]))]]
  # All three can stop on a boundary point that is a saddle (a variance at 0 where a positive
  # one fits better): each theta at its bound is tried again from 0.1, 0.3 and 1 off it (as
  # et-suite looks), and from random points.
  th <- getME(best, "theta")
  lower <- getME(best, "lower")
  set.seed(1)
  starts <- list()
  for (i in which(th <= lower)) for (off in c(0.1, 0.3, 1)) {
    start <- th
    start[i] <- lower[i] + off
    starts[[length(starts) + 1]] <- start
  }
  # And from random points, where a variance is at its bound (the saddle's basin can be wide).
  if (any(th <= lower)) for (k in 1:8)
    starts[[length(starts) + 1]] <- ifelse(is.finite(lower), runif(length(th), 0.05, 1),
                                           runif(length(th), -0.5, 0.5))
  for (start in starts) {
    m <- tryCatch(lmerTest::lmer(f, data = d, REML = TRUE, start = list(theta = start),
                                 control = lmerControl(optimizer = "bobyqa",
                                                       check.conv.singular = "ignore")),
                  error = function(e) NULL)
    if (!is.null(m) && getME(m, "devcomp")$cmp[["REML"]] < getME(best, "devcomp")$cmp[["REML"]] - 1e-6)
      best <- m
  }
  best
}

cat(sprintf("%-10s %12s %12s %10s %10s %9s %9s %11s %11s\n", "condition", "estimate",
            "lme4", "SE", "lme4", "df", "lme4", "p", "lme4"))
for (k in seq_len(nrow(rows))) {
  r <- rows[k, ]
  steps <- strsplit(r$detail, "; response")[[1]]
  last <- steps[length(steps)]
  f <- sub(" \\((REML|least squares).*$", "", sub("^ ?~", "~", sub("^response ", "", last)))
  f <- as.formula(paste("response", sub("^~", "~", f)))
  d <- if (r$condition == "all") dwell else dwell[dwell$condition == r$condition, ]
  if (r$test == "lm_t") {
    s <- summary(lm(response ~ smile, data = d))$coefficients
    est <- s["smile", "Estimate"]; se <- s["smile", "Std. Error"]
    df <- nrow(d) - 2; p <- s["smile", "Pr(>|t|)"]
  } else {
    m <- best_fit(f, d)
    s <- summary(m, ddf = "Kenward-Roger")$coefficients
    est <- s["smile", "Estimate"]; se <- s["smile", "Std. Error"]
    df <- s["smile", "df"]; p <- s["smile", "Pr(>|t|)"]
  }
  cat(sprintf("%-10s %12.4f %12.4f %10.4f %10.4f %9.3f %9.3f %11.4g %11.4g   %s\n", r$condition,
              r$estimate, est, r$se, se, r$df, df, r$p, p, deparse(f, width.cutoff = 500)))
}
