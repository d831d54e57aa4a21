from .dawid_skene import DawidSkeneResult, dawid_skene
