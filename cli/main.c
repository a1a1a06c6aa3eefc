/* main.c: the nicex command-line program: one binary, subcommands. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const Command commands[] = {
    {"train", "train a classifier (lenet5, vgg11, resnet18) on a dataset", cmd_train},
    {"eval", "accuracy of a checkpoint on a dataset", cmd_eval},
    {"summary", "print a model's layers, output shapes, parameters and FLOPs", cmd_summary},
    {"nice", "NICE masks: nice train | nice explain | nice compress", cmd_nice},
    {"convert", "rewrite a safetensors file with F16, BF16 or F32 floats", cmd_convert},
    {"rtis", "RTIS masking model: rtis train | rtis eval | rtis explain", cmd_rtis},
    {"explain", "explain a classifier's predictions: --method saliency, cam, gradcam, ig, mask, igos, nice, rtis, random, intensity", cmd_explain},
    {"compare-maps", "one grid of several maps.safetensors (rows images, columns methods)", cmd_compare_maps},
    {"metrics", "score maps: deletion | insertion | randomise | compress | localise | timing", cmd_metrics},
    {"data", "generated datasets: data cluttered (localisation ground truth)", cmd_data},
    {"help", "print this help", cmd_help},
};

int cmd_help(int argc, char **argv) {
    (void)argc, (void)argv;
    printf("usage: nicex <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-13s %s\n", commands[i].name, commands[i].help);
    printf("\n'nicex <command> --help' describes a command's options.\n");
    return 0;
}

int main(int argc, char **argv) {
    interrupt_install(false); /* temporary files never survive SIGINT / SIGTERM */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(argc, argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nicex: unknown command '%s' (try nicex help)\n", argv[1]);
    return 2;
}
